import test from 'ava';
import { describeError } from '../src/errors.js';

test("describeError drops grpc-js's empty resolution note and keeps a real one", (t) => {
  t.is(
    describeError(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ')),
    '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379',
  );
  t.is(describeError(new Error('No addresses resolved. Resolution note: DNS lookup failed')), 'No addresses resolved. Resolution note: DNS lookup failed');
  t.is(describeError('plain'), 'plain');
});
