import test from 'ava';
import fc from 'fast-check';
import { normalizeRanges, rangesContain, rangesToCidrs, subtractRanges, type Ip4Range } from '../../src/policy/ip4-set.js';
import { ip4NetContainsIp, parseIp4Net } from '../../src/net/ip.js';

const range = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([first, len]): Ip4Range => ({ first: 0x0a000000 + first, last: 0x0a000000 + first + len }));

test('property: the CIDRs cover exactly the union minus the subtraction, and no two of them could merge', (t) => {
  fc.assert(
    fc.property(fc.array(range, { maxLength: 8 }), fc.array(range, { maxLength: 4 }), (adds, cuts) => {
      const result = subtractRanges(normalizeRanges(adds), normalizeRanges(cuts));
      const cidrs = rangesToCidrs(result).map(parseIp4Net);
      for (let ip = 0x0a000000 - 2; ip < 0x0a000000 + 345; ip++) {
        const expected = adds.some((r) => ip >= r.first && ip <= r.last) && !cuts.some((r) => ip >= r.first && ip <= r.last);
        if (rangesContain(result, ip) !== expected) return false;
        if (cidrs.filter((c) => ip4NetContainsIp(c, ip)).length !== (expected ? 1 : 0)) return false;
      }
      for (let i = 1; i < cidrs.length; i++) {
        const a = cidrs[i - 1]!;
        const b = cidrs[i]!;
        const size = 2 ** (32 - a.prefixLen);
        const mergeable = a.prefixLen === b.prefixLen && a.ip + size === b.ip && a.ip % (2 * size) === 0;
        if (mergeable) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.deepEqual(rangesToCidrs([{ first: 0, last: 2 ** 32 - 1 }]), ['0.0.0.0/0']);
  t.deepEqual(rangesToCidrs(normalizeRanges([{ first: 0x0a000001, last: 0x0a000001 }, { first: 0x0a000000, last: 0x0a000000 }, { first: 0x0a000002, last: 0x0a000003 }])), ['10.0.0.0/30']);
});
