import test from 'ava';
import fc from 'fast-check';
import { sortPeersForStatus } from '../../src/daemon/peer-order.js';
import { leaseIdentity } from '../../src/lease/lease-identity.js';
import type { Lease } from '../../src/lease/types.js';
import { parseIp6Net } from '../../src/net/ip.js';

function lease(over: Partial<Lease>): Lease {
  return { enableIpv4: true, enableIpv6: false, subnet: undefined, ipv6Subnet: undefined, attrs: { publicIp: '192.168.1.2', publicIpv6: null, backendType: 'vxlan', backendData: undefined, backendV6Data: undefined }, expiration: undefined, ...over };
}

const anyLease = fc.oneof(
  fc.record({ ip: fc.integer({ min: 0, max: 0xffffffff }), prefixLen: fc.integer({ min: 8, max: 32 }) }).map((subnet) => lease({ subnet })),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/).map((nodeName) => lease({ nodeName, subnet: { ip: 0x0af40100, prefixLen: 24 } })),
  fc.record({ ip: fc.integer({ min: 0, max: 0xffffffff }), prefixLen: fc.constant(24) }).map((subnet) => lease({ subnet, ipv6Subnet: parseIp6Net('fd00::/64'), enableIpv6: true })),
);

test('peers are listed in the order a numeric collation gives their identities, addresses or names', (t) => {
  const collator = new Intl.Collator('en', { numeric: true });
  fc.assert(
    fc.property(fc.array(anyLease, { maxLength: 60 }), (leases) => {
      const listed = sortPeersForStatus(leases).map((p) => p.identity);
      const expected = leases.map((l) => leaseIdentity(l)).sort((a, b) => collator.compare(a, b));
      t.deepEqual(listed, expected);
    }),
  );
  t.deepEqual(
    sortPeersForStatus([lease({ subnet: { ip: 0x0a0a0000, prefixLen: 24 } }), lease({ subnet: { ip: 0x0a020000, prefixLen: 24 } }), lease({ nodeName: 'win-1' })]).map((p) => p.identity),
    ['10.2.0.0/24', '10.10.0.0/24', 'node/win-1'],
  );
});
