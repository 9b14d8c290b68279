import test from 'ava';
import type { AclPolicySetting } from '../../src/hns/types.js';
import { HnsAclEvaluator, evaluateAcls } from '../../src/policy/hns-acl-evaluator.js';

const rule = (r: Partial<AclPolicySetting> & Pick<AclPolicySetting, 'Action' | 'Direction'>): AclPolicySetting => ({ RuleType: 'Switch', ...r });

test('an endpoint without ACLs passes everything', (t) => {
  const v = evaluateAcls([], { direction: 'In', remoteIp: '10.0.0.1', localPort: 80, protocol: 6 });
  t.deepEqual(v, { allowed: true, reason: 'no-acl', ambiguous: false });
});

test('an endpoint with any ACL drops what no rule matches', (t) => {
  const acls = [rule({ Action: 'Allow', Direction: 'Out', Priority: 1000 })];
  const v = evaluateAcls(acls, { direction: 'In', remoteIp: '10.0.0.1', localPort: 80, protocol: 6 });
  t.is(v.allowed, false);
  t.is(v.reason, 'default-deny');
});

test('the lowest Priority decides, whatever the list order', (t) => {
  const block = rule({ Action: 'Block', Direction: 'In', Priority: 500, RemoteAddresses: '10.0.0.0/24' });
  const allow = rule({ Action: 'Allow', Direction: 'In', Priority: 1000 });
  const ev = new HnsAclEvaluator([allow, block]);
  const blocked = ev.evaluate({ direction: 'In', remoteIp: '10.0.0.7', localPort: 80, protocol: 6 });
  t.is(blocked.allowed, false);
  t.is(blocked.rule, block);
  const allowed = ev.evaluate({ direction: 'In', remoteIp: '10.0.1.7', localPort: 80, protocol: 6 });
  t.is(allowed.allowed, true);
  t.is(allowed.rule, allow);
});

test('In matches the source in RemoteAddresses and the destination port in LocalPorts; Out the destination in RemoteAddresses and RemotePorts', (t) => {
  const acls = [
    rule({ Action: 'Allow', Direction: 'In', Priority: 1000, Protocols: '6', RemoteAddresses: '10.1.0.0/16,192.168.1.5', LocalPorts: '80,8000-8080' }),
    rule({ Action: 'Allow', Direction: 'Out', Priority: 1000, Protocols: '17', RemoteAddresses: '10.2.0.9', RemotePorts: '53' }),
  ];
  const ev = new HnsAclEvaluator(acls);
  t.true(ev.evaluate({ direction: 'In', remoteIp: '10.1.200.3', localPort: 8042, protocol: 6 }).allowed);
  t.true(ev.evaluate({ direction: 'In', remoteIp: '192.168.1.5', localPort: 80, protocol: 6 }).allowed);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '192.168.1.6', localPort: 80, protocol: 6 }).allowed);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '10.1.0.1', localPort: 8081, protocol: 6 }).allowed);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '10.1.0.1', localPort: 80, protocol: 17 }).allowed);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '10.1.0.1', remotePort: 80, protocol: 6 }).allowed, 'the source port is not the destination port');
  t.true(ev.evaluate({ direction: 'Out', remoteIp: '10.2.0.9', remotePort: 53, protocol: 17 }).allowed);
  t.false(ev.evaluate({ direction: 'Out', remoteIp: '10.2.0.9', remotePort: 53, protocol: 6 }).allowed);
});

test('Protocols 256 or absent means any protocol; a rule with ports never matches a flow without one', (t) => {
  const ev = new HnsAclEvaluator([
    rule({ Action: 'Allow', Direction: 'In', Priority: 1000, Protocols: '256' }),
    rule({ Action: 'Allow', Direction: 'Out', Priority: 1000, RemotePorts: '80' }),
  ]);
  t.true(ev.evaluate({ direction: 'In', remoteIp: '1.2.3.4', protocol: 1 }).allowed);
  t.false(ev.evaluate({ direction: 'Out', remoteIp: '1.2.3.4', protocol: 1 }).allowed);
  t.true(ev.evaluate({ direction: 'Out', remoteIp: '1.2.3.4', remotePort: 80, protocol: 132 }).allowed);
});

test('two matching rules with one Priority and different actions are reported as ambiguous', (t) => {
  const ev = new HnsAclEvaluator([
    rule({ Action: 'Allow', Direction: 'In', Priority: 1000 }),
    rule({ Action: 'Block', Direction: 'In', Priority: 1000, RemoteAddresses: '10.0.0.1' }),
  ]);
  t.true(ev.evaluate({ direction: 'In', remoteIp: '10.0.0.1', localPort: 1, protocol: 6 }).ambiguous);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '10.0.0.2', localPort: 1, protocol: 6 }).ambiguous);
});

test('Host rules are not vSwitch rules; LocalAddresses needs the local address', (t) => {
  const ev = new HnsAclEvaluator([
    rule({ Action: 'Allow', Direction: 'In', Priority: 0, RuleType: 'Host' }),
    rule({ Action: 'Allow', Direction: 'In', Priority: 1000, LocalAddresses: '10.244.1.5' }),
  ]);
  t.false(ev.evaluate({ direction: 'In', remoteIp: '1.2.3.4', protocol: 6, localPort: 1 }).allowed);
  t.true(ev.evaluate({ direction: 'In', remoteIp: '1.2.3.4', localIp: '10.244.1.5', protocol: 6, localPort: 1 }).allowed);
});
