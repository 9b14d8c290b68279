import test from 'ava';
import fc from 'fast-check';
import { ListBodySyntaxError, splitListBody } from '../../src/kube/list-body.js';

test('a list answer splits into its parsed members and one JSON text per item', (t) => {
  const text = ' {"kind":"NodeList", "metadata" : {"resourceVersion":"12","continue":"c2"},\n"items":[ {"metadata":{"name":"a}\\"]"}} , {"metadata":{"name":"b"},"spec":{"podCIDRs":["10.0.2.0/24"]}} ],"apiVersion":"v1"} ';
  const body = splitListBody(text);
  t.deepEqual(body.members, { kind: 'NodeList', metadata: { resourceVersion: '12', continue: 'c2' }, apiVersion: 'v1' });
  t.deepEqual(body.items, ['{"metadata":{"name":"a}\\"]"}}', '{"metadata":{"name":"b"},"spec":{"podCIDRs":["10.0.2.0/24"]}}']);
});

test('an empty items array gives no items; a missing one gives undefined', (t) => {
  t.deepEqual(splitListBody('{"items":[],"metadata":{}}').items, []);
  t.is(splitListBody('{"metadata":{}}').items, undefined);
  t.is(splitListBody('{}').items, undefined);
});

test('items of every JSON kind are cut where JSON.parse would read them', (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue()), fc.jsonValue(), fc.boolean(), (items, metadata, pretty) => {
      const list = { kind: 'List', metadata, items };
      const text = pretty ? JSON.stringify(list, null, 2) : JSON.stringify(list);
      const body = splitListBody(text);
      t.deepEqual(body.members, JSON.parse(JSON.stringify({ kind: 'List', metadata })));
      t.deepEqual(body.items?.map((item) => JSON.parse(item) as unknown), JSON.parse(JSON.stringify(items)));
    }),
  );
});

test('text that is not one JSON object is refused with the offset where reading stopped', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /expected "\{" at offset 0/],
    ['[1,2]', /expected "\{" at offset 0/],
    ['{"items":[{"a":1}', /unterminated object or array at offset 13|expected "," or "\]"/],
    ['{"items":[{"a":1}] x', /expected "," or "\}" between members at offset 19/],
    ['{"items":[{"a":1}]} {}', /unexpected text after the object at offset 20/],
    ['{"metadata":{"a":}}', /member "metadata" is not JSON/],
    ['{"items":[{"a":"b}]}', /unterminated string/],
    ['{items:[]}', /expected a member name at offset 1/],
    ['{"items":[1 2]}', /expected "," or "\]" between items at offset 12/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => splitListBody(text), { instanceOf: ListBodySyntaxError }, JSON.stringify(text));
    t.regex(err!.message, message, JSON.stringify(text));
  }
});

test('a malformed item is left for JSON.parse to refuse, not repaired', (t) => {
  const body = splitListBody('{"items":[{"a":01},{"b":2}]}');
  t.deepEqual(body.items, ['{"a":01}', '{"b":2}']);
  t.throws(() => JSON.parse(body.items![0]!) as unknown, { instanceOf: SyntaxError });
});
