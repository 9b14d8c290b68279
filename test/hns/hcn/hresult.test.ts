import test from 'ava';
import fc from 'fast-check';
import { HCN_E } from '../../../src/hns/client.js';
import { callFailed, hnsCallError, isFailedHresult, reduceHresult, summarizeErrorRecord } from '../../../src/hns/hcn/hresult.js';

test('a negative HRESULT is a failure, S_OK and S_FALSE are not', (t) => {
  t.true(isFailedHresult(0x803b0001));
  t.true(isFailedHresult(-2143617023));
  t.false(isFailedHresult(0));
  t.false(isFailedHresult(1));
});

test('FACILITY_WIN32 codes reduce to the Win32 code; HCN codes stay whole', (t) => {
  t.is(reduceHresult(0x80070490), 1168);
  t.is(reduceHresult(0x80070005), 5);
  t.is(reduceHresult(0x803b0001), 0x803b0001);
  t.is(reduceHresult(-2147023728), 1168, 'the same code read as int32');
});

test('reduction: HRESULT_FROM_WIN32(c) gives back c; facility 0x3B codes stay as they are (property)', (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 0xffff }), (c) => reduceHresult((0x80070000 | c) >>> 0) === c));
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), (x) => reduceHresult((0x803b0000 | x) >>> 0) === (0x803b0000 | x) >>> 0));
  t.pass();
});

test('a call fails on a negative HRESULT or a non-empty error record', (t) => {
  t.false(callFailed(0, undefined));
  t.false(callFailed(0, ''));
  t.false(callFailed(0, '  '));
  t.true(callFailed(0, 'x'));
  t.true(callFailed(0x80004005, undefined));
});

test('error records: JSON message and code are lifted, other text is kept as the message', (t) => {
  t.deepEqual(summarizeErrorRecord('{"Success":false,"Error":"Network not found.","ErrorCode":2151350273}'), {
    message: 'Network not found.',
    code: 0x803b0001,
  });
  t.deepEqual(summarizeErrorRecord('{"Error":-2147023728,"ErrorMessage":"Element not found."}'), { message: 'Element not found.', code: 0x80070490 });
  t.deepEqual(summarizeErrorRecord('plain words'), { message: 'plain words' });
  t.deepEqual(summarizeErrorRecord('[1]'), { message: '[1]' });
  t.deepEqual(summarizeErrorRecord(undefined), {});
});

test('hnsCallError classifies by the reduced code and keeps call, context and record', (t) => {
  const err = hnsCallError('HcnOpenNetwork', 0x80070490 | 0, '{"ErrorMessage":"Element not found."}', { networkId: 'n1' });
  t.is(err.hresult, 1168);
  t.is(err.kind, 'not-found');
  t.is(err.call, 'HcnOpenNetwork');
  t.is(err.context['networkId'], 'n1');
  t.is(err.context['rawHresult'], '0x80070490');
  t.is(err.errorRecord, '{"ErrorMessage":"Element not found."}');
  t.is(err.message, 'HcnOpenNetwork: Element not found. (0x00000490)');
});

test('with S_OK the error record code stands in for the HRESULT', (t) => {
  const err = hnsCallError('HcnCreateNetwork', 0, `{"Error":"exists","ErrorCode":${HCN_E.NETWORK_ALREADY_EXISTS}}`, {});
  t.is(err.kind, 'already-exists');
  t.is(err.hresult, HCN_E.NETWORK_ALREADY_EXISTS);
  const opaque = hnsCallError('HcnCreateNetwork', 0, 'went wrong', {});
  t.is(opaque.kind, 'other');
  t.is(opaque.message, 'HcnCreateNetwork: went wrong (0x00000000)');
});
