import test from 'ava';
import fc from 'fast-check';
import { PolicySet, routePrefixOf, type SimPolicy } from '../../src/sim/policy-set.js';
import { allocateEndpointIp } from '../../src/sim/endpoint-ip.js';

const policyArb: fc.Arbitrary<SimPolicy> = fc.oneof(
  fc.record({
    prefix: fc.constantFrom('10.244.1.0/24', '10.244.2.0/24', '10.244.2.9/24', '10.244.3.0/24'),
    pa: fc.constantFrom('192.168.1.11', '192.168.1.12'),
  }).map(({ prefix, pa }) => ({
    Type: 'RemoteSubnetRoute',
    Settings: { DestinationPrefix: prefix, IsolationId: 4096, ProviderAddress: pa, DistributedRouterMacAddress: '00-15-5D-00-00-01' },
  })),
  fc.constant({ Type: 'HostRoute', Settings: {} }),
);

test('PolicySet behaves like a list with HNS uniqueness rules (reference model)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.record({ op: fc.constantFrom('add', 'remove'), policy: policyArb }), { maxLength: 60 }), (ops) => {
      const set = new PolicySet();
      let model: SimPolicy[] = [];
      const same = (a: SimPolicy, b: SimPolicy): boolean => JSON.stringify(a) === JSON.stringify(b);
      for (const { op, policy } of ops) {
        if (op === 'add') {
          const blocked = model.some((p) => same(p, policy) || (routePrefixOf(p) !== undefined && routePrefixOf(p) === routePrefixOf(policy)));
          if ((set.conflictFor(policy) !== undefined) !== blocked) return false;
          if (!blocked) {
            set.add(policy);
            model.push(policy);
          }
        } else {
          const present = model.some((p) => same(p, policy));
          if (set.remove(policy) !== present) return false;
          model = model.filter((p) => !same(p, policy));
        }
        if (set.size !== model.length) return false;
      }
      return JSON.stringify(set.list()) === JSON.stringify(model);
    }),
  );
  t.pass();
});

test('a stored policy is a frozen copy: equal to what was added, deaf to later edits of it, refused when not JSON data', (t) => {
  const settings = { DestinationPrefix: '10.244.7.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.17', DistributedRouterMacAddress: '00-15-5D-00-00-07', Extra: [1, { a: null }] };
  const policy = { Type: 'RemoteSubnetRoute', Settings: settings };
  const set = new PolicySet();
  set.add(policy);
  const [stored] = set.list();
  t.deepEqual(stored, { Type: 'RemoteSubnetRoute', Settings: { ...settings, Extra: [1, { a: null }] } });
  t.not(stored, policy);
  t.not(stored!.Settings, settings);
  settings.ProviderAddress = '192.168.1.99';
  (settings.Extra[1] as { a: unknown }).a = 'edited';
  t.is((stored!.Settings as typeof settings).ProviderAddress, '192.168.1.17', 'the caller edited its own object only');
  t.deepEqual((stored!.Settings as typeof settings).Extra, [1, { a: null }]);
  t.throws(() => ((stored!.Settings as typeof settings).ProviderAddress = 'x'), { instanceOf: TypeError });
  t.throws(() => ((stored!.Settings as typeof settings).Extra as unknown[]).push(2), { instanceOf: TypeError });
  t.throws(() => (((stored!.Settings as typeof settings).Extra[1] as { a: unknown }).a = 1), { instanceOf: TypeError });
  t.throws(() => set.add({ Type: 'X', Settings: { f: () => 1 } }), { name: 'DataCloneError' });
});

test('routes for the same network collide whatever host bits the prefix carries', (t) => {
  t.is(routePrefixOf({ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: '10.244.2.9/24' } }), '10.244.2.0/24');
  t.is(routePrefixOf({ Type: 'HostRoute', Settings: {} }), undefined);
});

test('endpoint IPs are allocated past the network address and the gateway, and none when the subnet is full', (t) => {
  const network = {
    Name: 'n', SchemaVersion: { Major: 2, Minor: 0 },
    Ipams: [{ Type: 'Static' as const, Subnets: [{ IpAddressPrefix: '10.0.0.0/30', Routes: [{ NextHop: '10.0.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
  };
  t.deepEqual(allocateEndpointIp(network, new Map()), { IpAddress: '10.0.0.2', PrefixLength: 30 });
  t.is(allocateEndpointIp(network, new Map([['10.0.0.2', 'x']])), undefined);
});
