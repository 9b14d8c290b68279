import test from 'ava';
import fc from 'fast-check';
import { checkNetworkConfig, parseNetConfig } from '../../src/config/parse-net-config.js';
import type { CheckedNetConfig } from '../../src/config/net-config.js';
import { formatIp4Net, formatIp6Net, ip4NetsOverlap, parseIp4Net, parseIp6Net, type Ip4Net } from '../../src/net/ip.js';
import {
  chooseSubnet,
  ip4SubnetFitsConfig,
  leaseFitsConfig,
  RANDOM_POOL_SIZE,
  SubnetAllocationError,
  type TakenSubnet,
} from '../../src/lease/subnet-allocator.js';

function config(text: string): CheckedNetConfig {
  return checkNetworkConfig(parseNetConfig(text));
}

const v4 = config('{"Network":"10.244.0.0/16"}');
const taken4 = (...cidrs: string[]): TakenSubnet[] => cidrs.map((c) => ({ subnet: parseIp4Net(c), ipv6Subnet: undefined }));

test('the previous subnet is reused when free and in range', (t) => {
  const c = chooseSubnet({ config: v4, taken: taken4('10.244.1.0/24'), previousSubnet: parseIp4Net('10.244.7.0/24'), random: () => 0.5 });
  t.is(c.source, 'previous');
  t.is(formatIp4Net(c.subnet!), '10.244.7.0/24');
});

test('a previous subnet that is taken, out of range or of another length is not reused', (t) => {
  for (const previous of ['10.244.1.0/24', '10.244.0.0/24', '10.245.3.0/24', '10.244.8.0/25']) {
    const c = chooseSubnet({ config: v4, taken: taken4('10.244.1.0/24'), previousSubnet: parseIp4Net(previous), random: () => 0 });
    t.is(c.source, 'random', previous);
    t.is(formatIp4Net(c.subnet!), '10.244.2.0/24', previous);
  }
});

test('random picks among the first 100 free subnets, walking from SubnetMin', (t) => {
  const taken = taken4('10.244.1.0/24', '10.244.3.0/24');
  t.is(formatIp4Net(chooseSubnet({ config: v4, taken, random: () => 0 }).subnet!), '10.244.2.0/24');
  t.is(formatIp4Net(chooseSubnet({ config: v4, taken, random: () => 0.999999 }).subnet!), '10.244.102.0/24');
  t.is(formatIp4Net(chooseSubnet({ config: v4, taken, random: () => 1 }).subnet!), '10.244.102.0/24');
  t.is(RANDOM_POOL_SIZE, 100);
});

test('a taken larger block covers every subnet inside it', (t) => {
  const c = chooseSubnet({ config: v4, taken: taken4('10.244.0.0/20'), random: () => 0 });
  t.is(formatIp4Net(c.subnet!), '10.244.16.0/24');
});

test('out of subnets names the family and range', (t) => {
  const small = config('{"Network":"10.0.0.0/26","SubnetLen":28}');
  const err = t.throws(() => chooseSubnet({ config: small, taken: taken4('10.0.0.16/28', '10.0.0.32/28', '10.0.0.48/28'), random: () => 0 }), {
    instanceOf: SubnetAllocationError,
  });
  t.is(err.message, 'out of subnets');
  t.like(err.context, { family: 'IPv4', subnetMin: '10.0.0.16', subnetMax: '10.0.0.48', subnetLen: 28 });
});

test('dual stack allocates IPv6 independently and reuses a previous pair only when both are free', (t) => {
  const dual = config('{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:1::/48"}');
  const taken: TakenSubnet[] = [{ subnet: parseIp4Net('10.244.1.0/24'), ipv6Subnet: parseIp6Net('fd00:1:0:1::/64') }];
  const random = chooseSubnet({ config: dual, taken, random: () => 0 });
  t.is(formatIp4Net(random.subnet!), '10.244.2.0/24');
  t.is(formatIp6Net(random.ipv6Subnet!), 'fd00:1:0:2::/64');
  const previous = chooseSubnet({
    config: dual,
    taken,
    previousSubnet: parseIp4Net('10.244.9.0/24'),
    previousIpv6Subnet: parseIp6Net('fd00:1:0:9::/64'),
    random: () => 0,
  });
  t.is(previous.source, 'previous');
  const clash = chooseSubnet({
    config: dual,
    taken,
    previousSubnet: parseIp4Net('10.244.9.0/24'),
    previousIpv6Subnet: parseIp6Net('fd00:1:0:1::/64'),
    random: () => 0,
  });
  t.is(clash.source, 'random');
  t.true(leaseFitsConfig(dual, random));
  t.false(leaseFitsConfig(dual, { subnet: random.subnet, ipv6Subnet: undefined }));
});

test('an IPv6 previous subnet is ignored when IPv6 is off', (t) => {
  const c = chooseSubnet({ config: v4, taken: [], previousSubnet: parseIp4Net('10.244.5.0/24'), previousIpv6Subnet: parseIp6Net('fd00::/64'), random: () => 0 });
  t.is(c.source, 'previous');
  t.is(c.ipv6Subnet, undefined);
});

test('property: never a taken or out-of-range subnet; always one when any is free', (t) => {
  const arbitrary = fc.record({
    prefixLen: fc.integer({ min: 20, max: 26 }),
    extra: fc.integer({ min: 2, max: 5 }),
    takenOffsets: fc.array(fc.record({ offset: fc.nat(), len: fc.integer({ min: 18, max: 30 }) }), { maxLength: 40 }),
    previousOffset: fc.option(fc.nat()),
    r: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  });
  t.notThrows(() =>
    fc.assert(
    fc.property(arbitrary, ({ prefixLen, extra, takenOffsets, previousOffset, r }) => {
      const subnetLen = Math.min(30, prefixLen + extra);
      const base = parseIp4Net('10.96.0.0/12').ip;
      const cfg = config(`{"Network":"10.96.0.0/${prefixLen}","SubnetLen":${subnetLen}}`);
      const span = 2 ** (32 - prefixLen);
      const taken: TakenSubnet[] = takenOffsets.map(({ offset, len }) => {
        const size = 2 ** (32 - len);
        return { subnet: { ip: base + (Math.floor((offset % span) / size) * size), prefixLen: len }, ipv6Subnet: undefined };
      });
      const size = 2 ** (32 - subnetLen);
      const previousSubnet: Ip4Net | undefined =
        previousOffset === null ? undefined : { ip: base + Math.floor((previousOffset % span) / size) * size, prefixLen: subnetLen };
      const all: Ip4Net[] = [];
      for (let ip = cfg.subnetMin!; ip <= cfg.subnetMax!; ip += size) all.push({ ip, prefixLen: subnetLen });
      // A taken block as wide as the Network or wider is junk no node could hold: not counted.
      const free = all.filter((s) => !taken.some((x) => x.subnet!.prefixLen > prefixLen && ip4NetsOverlap(x.subnet!, s)));
      let chosen: Ip4Net | undefined;
      try {
        chosen = chooseSubnet({ config: cfg, taken, previousSubnet, random: () => r }).subnet;
      } catch (err) {
        return err instanceof SubnetAllocationError && free.length === 0;
      }
      if (chosen === undefined || !ip4SubnetFitsConfig(cfg, chosen)) return false;
      if (taken.some((x) => x.subnet!.prefixLen > prefixLen && ip4NetsOverlap(x.subnet!, chosen))) return false;
      const previousFree = previousSubnet !== undefined && free.some((s) => s.ip === previousSubnet.ip);
      if (previousFree) return chosen.ip === previousSubnet!.ip;
      return free.slice(0, RANDOM_POOL_SIZE).some((s) => s.ip === chosen.ip);
    }),
    { numRuns: 300 },
    ),
  );
});

test('leases no node could hold do not block allocation and are reported', (t) => {
  const junk: TakenSubnet[] = [
    { subnet: parseIp4Net('0.0.0.0/0'), ipv6Subnet: undefined, label: 'subnets/0.0.0.0-0' },
    { subnet: parseIp4Net('10.244.0.0/16'), ipv6Subnet: undefined, label: 'subnets/10.244.0.0-16' },
    { subnet: parseIp4Net('10.244.1.7/24'), ipv6Subnet: undefined, label: 'subnets/10.244.1.7-24' },
    { subnet: parseIp4Net('10.9.0.0/24'), ipv6Subnet: undefined, label: 'subnets/10.9.0.0-24' },
  ];
  const c = chooseSubnet({ config: v4, taken: [...junk, ...taken4('10.244.2.0/24')], random: () => 0 });
  t.is(formatIp4Net(c.subnet!), '10.244.1.0/24', 'the unmasked 10.244.1.7-24 does not take 10.244.1.0/24 either');
  t.deepEqual(c.ignored.map((i) => i.label), junk.map((j) => j.label));
  t.regex(c.ignored[0]!.reason, /covers the whole Network 10\.244\.0\.0\/16/);
});
