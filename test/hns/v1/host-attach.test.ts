import test from 'ava';
import { HCN_E, HnsError } from '../../../src/hns/client.js';
import { hostAttachRequest, isAlreadyAttached } from '../../../src/hns/v1/host-attach.js';
import { parseV1Response } from '../../../src/hns/v1/response.js';

test('host attach request is hcsshim HostAttach(1): SystemType Host, compartment 1', (t) => {
  t.is(hostAttachRequest(), '{"SystemType":"Host","CompartmentId":1}');
});

test('v1 envelopes: success, error text and code, output; anything else is not an envelope', (t) => {
  t.deepEqual(parseV1Response('{"Success":true,"Output":{"Major":15}}'), { success: true, output: { Major: 15 } });
  t.deepEqual(parseV1Response('{"Success":false,"Error":"Element not found.","ErrorCode":2147943568}'), {
    success: false,
    error: 'Element not found.',
    errorCode: 0x80070490,
  });
  t.deepEqual(parseV1Response('{"Success":false,"Error":""}'), { success: false });
  t.is(parseV1Response('{"Output":1}'), undefined);
  t.is(parseV1Response('[]'), undefined);
  t.is(parseV1Response('not json'), undefined);
});

test('already attached: the flannel-tolerated text or HCN_E_ENDPOINT_ALREADY_ATTACHED, nothing else', (t) => {
  t.true(isAlreadyAttached(new HnsError('HNSCall', 0, 'This endpoint is already attached to the switch.')));
  t.true(isAlreadyAttached(new HnsError('HNSCall', 0, 'request failed', {}, '{"Success":false,"Error":"This endpoint is already attached to the switch."}')));
  t.true(isAlreadyAttached(new HnsError('HNSCall', HCN_E.ENDPOINT_ALREADY_ATTACHED, 'x')));
  t.false(isAlreadyAttached(new HnsError('HNSCall', 1168, 'Element not found.')));
  t.false(isAlreadyAttached(new Error('already attached')));
});
