import test from 'ava';
import { endpointCreateDocument, HcnDocumentError, networkCreateDocument, parseEndpoint, parseIdList, parseNetwork } from '../../../src/hns/hcn/documents.js';
import { SCHEMA_V2 } from '../../../src/hns/types.js';

test('network create document drops the read-only Health and keeps key order', (t) => {
  t.is(
    networkCreateDocument({ Name: 'cbr0', Type: 'L2Bridge', Health: { Data: 1 }, SchemaVersion: SCHEMA_V2, Flags: 8 }),
    '{"Name":"cbr0","Type":"L2Bridge","SchemaVersion":{"Major":2,"Minor":0},"Flags":8}',
  );
});

test('endpoint create document binds the network last and never carries HostComputeNamespace', (t) => {
  const doc = endpointCreateDocument('net-1', {
    Name: 'ep',
    HostComputeNetwork: 'stale',
    HostComputeNamespace: 'ns',
    Health: {},
    SchemaVersion: SCHEMA_V2,
  });
  t.is(doc, '{"Name":"ep","SchemaVersion":{"Major":2,"Minor":0},"HostComputeNetwork":"net-1"}');
});

test('a network without Type is NAT; other fields pass through untouched', (t) => {
  const parsed = parseNetwork('q', '{"ID":"x","Name":"nat","Unknown":{"a":1}}');
  t.is(parsed.Type, 'NAT');
  t.deepEqual((parsed as unknown as Record<string, unknown>)['Unknown'], { a: 1 });
  t.is(parseNetwork('q', '{"Name":"o","Type":"Overlay"}').Type, 'Overlay');
});

test('properties that are not a JSON object are an HcnDocumentError naming the call', (t) => {
  const err = t.throws(() => parseEndpoint('HcnQueryEndpointProperties', 'nope'), { instanceOf: HcnDocumentError });
  t.is(err?.code, 'HNS_BAD_DOCUMENT');
  t.regex(err?.message ?? '', /^HcnQueryEndpointProperties: /);
  t.throws(() => parseNetwork('q', '[1]'), { instanceOf: HcnDocumentError });
});

test('ID lists: JSON array of GUIDs, normalised; empty or null is none', (t) => {
  t.deepEqual(parseIdList('e', '["0A0B0C0D-0000-4000-8000-000000000001","{0a0b0c0d-0000-4000-8000-000000000002}"]'), [
    '0a0b0c0d-0000-4000-8000-000000000001',
    '0a0b0c0d-0000-4000-8000-000000000002',
  ]);
  t.deepEqual(parseIdList('e', ''), []);
  t.deepEqual(parseIdList('e', 'null'), []);
  t.deepEqual(parseIdList('e', '[]'), []);
  t.throws(() => parseIdList('e', '["cbr0"]'), { instanceOf: HcnDocumentError });
  t.throws(() => parseIdList('e', '{'), { instanceOf: HcnDocumentError });
});
