import test from 'ava';
import fc from 'fast-check';
import { compactJson, decodeLeaseAttrs, encodeLeaseAttrs, LeaseJsonError } from '../../src/lease/lease-json.js';
import type { LeaseAttrs } from '../../src/lease/types.js';

function attrs(partial: Partial<LeaseAttrs>): LeaseAttrs {
  return { publicIp: '10.0.0.5', publicIpv6: null, backendType: '', backendData: undefined, backendV6Data: undefined, ...partial };
}

// The exact strings from compat/flannel.md §2.3.
const LINUX_VXLAN = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';
const WINDOWS_VXLAN = '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"00:15:5d:01:02:03"}}';
const HOST_GW = '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"host-gw"}';
const ALLOC = '{"PublicIP":"10.0.0.5","PublicIPv6":null}';

test('encodes the spec examples byte for byte', (t) => {
  t.is(
    encodeLeaseAttrs(attrs({ publicIp: '192.168.64.3', backendType: 'vxlan', backendData: '{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}' })),
    LINUX_VXLAN,
  );
  t.is(encodeLeaseAttrs(attrs({ backendType: 'vxlan', backendData: '{"VNI":4096,"VtepMAC":"00:15:5d:01:02:03"}' })), WINDOWS_VXLAN);
  t.is(encodeLeaseAttrs(attrs({ backendType: 'host-gw' })), HOST_GW);
  t.is(encodeLeaseAttrs(attrs({})), ALLOC);
});

test('BackendData is compacted, keeping number text; empty data is omitted', (t) => {
  t.is(
    encodeLeaseAttrs(attrs({ backendType: 'vxlan', backendData: '{ "VNI" : 4096,\n  "VtepMAC": "aa:bb:cc:dd:ee:ff", "x": 1.0 }' })),
    '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:ff","x":1.0}}',
  );
  t.is(encodeLeaseAttrs(attrs({ backendType: 'vxlan', backendData: '' })), '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"vxlan"}');
  t.is(compactJson('{"a":"<b> & c d"}'), '{"a":"\\u003cb\\u003e \\u0026 c d"}');
  t.throws(() => encodeLeaseAttrs(attrs({ backendData: '{nope' })), { instanceOf: LeaseJsonError });
});

/** The character-at-a-time compaction compactJson used to do: the model its spans must match. */
function compactModel(text: string): string {
  const escapes: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') out += c + text[++i]!;
      else {
        if (c === '"') inString = false;
        out += escapes[c] ?? c;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!' \t\n\r'.includes(c)) out += c;
  }
  return out;
}

test('property: compactJson drops the whitespace between tokens and escapes as Go does, nothing else', (t) => {
  const special = fc.array(fc.constantFrom('<', '>', '&', '\u2028', '\u2029', ' ', '\t', 'a', '"', '\\', '\n', 'é', '1.0'), { maxLength: 12 }).map((cs) => cs.join(''));
  const text = fc
    .record({ s: special, v: fc.jsonValue(), indent: fc.integer({ min: 0, max: 3 }) })
    .map(({ s, v, indent }) => JSON.stringify({ s, v, n: 1 }, null, indent).replace('"n": 1', '"n": 1.0 ').replace('"n":1', '"n": 1.0'));
  fc.assert(
    fc.property(text, (json) => {
      const compact = compactJson(json);
      t.is(compact, compactModel(json));
      t.deepEqual(JSON.parse(compact), JSON.parse(json));
      t.false(/[<>&\u2028\u2029]/.test(compact), 'the Go escapes are applied');
      t.true(compact.includes('"n":1.0'), 'number text is kept as written');
    }),
    { numRuns: 300 },
  );
});

test('dual stack: PublicIPv6 in compressed form, BackendV6Data last', (t) => {
  t.is(
    encodeLeaseAttrs(
      attrs({ publicIpv6: 'FD00:0:0:0:0:0:0:5', backendType: 'vxlan', backendData: '{"VNI":4096}', backendV6Data: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}' }),
    ),
    '{"PublicIP":"10.0.0.5","PublicIPv6":"fd00::5","BackendType":"vxlan","BackendData":{"VNI":4096},"BackendV6Data":{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}}',
  );
});

test('encode rejects a PublicIP that is not IPv4', (t) => {
  t.throws(() => encodeLeaseAttrs(attrs({ publicIp: 'fd00::1' })), { instanceOf: LeaseJsonError, message: /PublicIP "fd00::1"/ });
  t.throws(() => encodeLeaseAttrs(attrs({ publicIpv6: '10.0.0.1' })), { instanceOf: LeaseJsonError });
});

test('decode then encode round-trips every spec example exactly', (t) => {
  for (const text of [LINUX_VXLAN, WINDOWS_VXLAN, HOST_GW, ALLOC]) t.is(encodeLeaseAttrs(decodeLeaseAttrs(text)), text);
});

test('decode follows flannel: case-insensitive keys, PublicIPv6 null or absent', (t) => {
  t.deepEqual(decodeLeaseAttrs('{"publicip":"10.0.0.7","backendtype":"host-gw","Other":1}'), attrs({ publicIp: '10.0.0.7', backendType: 'host-gw' }));
  t.deepEqual(decodeLeaseAttrs(LINUX_VXLAN), attrs({ publicIp: '192.168.64.3', backendType: 'vxlan', backendData: '{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}' }));
  t.is(decodeLeaseAttrs('{"PublicIP":"10.0.0.7","PublicIPv6":"fd00::7"}').publicIpv6, 'fd00::7');
});

test('decode rejects what flannel cannot parse, naming the key', (t) => {
  const key = '/coreos.com/network/subnets/10.244.9.0-24';
  const e = t.throws(() => decodeLeaseAttrs('{"PublicIP":null}', { key }), { instanceOf: LeaseJsonError });
  t.is(e.message, `invalid lease value at ${key}: PublicIP null is not an IPv4 address`);
  t.is(e.context.key, key);
  t.throws(() => decodeLeaseAttrs('{"PublicIP":"fd00::1"}'), { instanceOf: LeaseJsonError });
  t.throws(() => decodeLeaseAttrs('{"PublicIP":"10.0.0.1","PublicIPv6":""}'), { instanceOf: LeaseJsonError });
  t.throws(() => decodeLeaseAttrs('{"PublicIP": garbage', { key }), { instanceOf: LeaseJsonError, message: /malformed JSON/ });
  t.throws(() => decodeLeaseAttrs('"x"'), { instanceOf: LeaseJsonError, message: /expected a JSON object/ });
});

test('decode keeps BackendData text as written (compacted), like a Go json.RawMessage', (t) => {
  const decoded = decodeLeaseAttrs('{"PublicIP":"10.0.0.1", "BackendData" : { "VNI": 1.0, "x": [1, {"y":"} \\"q\\""}] }, "BackendV6Data":{"a":1e3}}');
  t.is(decoded.backendData, '{"VNI":1.0,"x":[1,{"y":"} \\"q\\""}]}');
  t.is(decoded.backendV6Data, '{"a":1e3}');
  t.is(
    encodeLeaseAttrs(decoded),
    '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendData":{"VNI":1.0,"x":[1,{"y":"} \\"q\\""}]},"BackendV6Data":{"a":1e3}}',
  );
});

test('a huge value is quoted only up to a bound in the error', (t) => {
  const huge = 'x'.repeat(1 << 20);
  for (const text of [`{"PublicIP":"${huge}"}`, `{"PublicIP":"10.0.0.1","BackendType":["${huge}"]}`, `{"PublicIP": ${huge}`, `["${huge}"]`]) {
    const err = t.throws(() => decodeLeaseAttrs(text, { key: '/coreos.com/network/subnets/10.244.9.0-24' }), { instanceOf: LeaseJsonError });
    t.true(JSON.stringify({ msg: err!.message, ...err!.context }).length < 1024, err!.message.slice(0, 200));
    t.regex(err!.message, /10\.244\.9\.0-24/);
  }
});
