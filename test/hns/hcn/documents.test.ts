import test from 'ava';
import fc from 'fast-check';
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

test('a network without Type is NAT; other fields pass through untouched', async (t) => {
  const parsed = await parseNetwork('q', '{"ID":"x","Name":"nat","Unknown":{"a":1}}');
  t.is(parsed.Type, 'NAT');
  t.deepEqual((parsed as unknown as Record<string, unknown>)['Unknown'], { a: 1 });
  t.is((await parseNetwork('q', '{"Name":"o","Type":"Overlay"}')).Type, 'Overlay');
});

test('properties that are not a JSON object are an HcnDocumentError naming the call', async (t) => {
  const err = await t.throwsAsync(parseEndpoint('HcnQueryEndpointProperties', 'nope'), { instanceOf: HcnDocumentError });
  t.is(err?.code, 'HNS_BAD_DOCUMENT');
  t.regex(err?.message ?? '', /^HcnQueryEndpointProperties: /);
  await t.throwsAsync(parseNetwork('q', '[1]'), { instanceOf: HcnDocumentError });
  // Parsed in slices, the same input is refused the same way, a bad policy included.
  await t.throwsAsync(parseEndpoint('HcnQueryEndpointProperties', 'nope', 10), { instanceOf: HcnDocumentError });
  await t.throwsAsync(parseNetwork('q', '{"Name":"o","Policies":[{"Type":"HostRoute"},{"Type":01}]}', 10), { instanceOf: HcnDocumentError });
  await t.throwsAsync(parseNetwork('q', '{"Name":"o","Policies":[]} x', 10), { instanceOf: HcnDocumentError });
});

test('a document parsed in slices is what JSON.parse gives, and the event loop runs in between', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.string().filter((k) => k !== 'Policies' && k !== '__proto__'), fc.jsonValue(), { maxKeys: 4 }), fc.array(fc.jsonValue(), { maxLength: 40 }), fc.boolean(), async (fields, policies, pretty) => {
      const doc = { Type: 'Overlay', ...fields, Policies: policies };
      const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
      t.deepEqual(await parseNetwork('q', text, 7), JSON.parse(text));
    }),
  );
  const routes = Array.from({ length: 1000 }, (_, i) => ({ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: `10.244.${i % 256}.0/24`, IsolationId: 4096 } }));
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const parsed = await parseNetwork('q', JSON.stringify({ Name: 'flannel.4096', Type: 'Overlay', Policies: routes }), 100);
  ticking = false;
  t.is(parsed.Policies?.length, 1000);
  t.true(turns >= 9, `the event loop turned ${turns} times during the parse`);
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
