import test from 'ava';
import { blockRuleId, nodeRuleId, openRuleId, OUR_ACL_ID_PREFIX, parseAclId, policyIdRef, policyRuleId } from '../../src/policy/acl-id.js';

test('rule Ids carry our prefix and read back to their policy, rule and piece', (t) => {
  const id = policyRuleId('in', 'prod', 'allow-web.v2', 3, 7);
  t.is(id, 'flannel-win:in:prod/allow-web.v2:3:7');
  t.deepEqual(parseAclId(id), { kind: 'policy', direction: 'in', policyRef: 'prod/allow-web.v2', rule: 3, piece: 7 });
  for (const fixed of [nodeRuleId('out'), openRuleId('in'), blockRuleId('out')]) {
    t.true(fixed.startsWith(OUR_ACL_ID_PREFIX));
    t.truthy(parseAclId(fixed));
  }
  t.is(parseAclId('calico-policy-1'), undefined);
  t.is(parseAclId(undefined), undefined);
});

test('a long policy name is cut with a hash that tells policies apart, keeping Ids short', (t) => {
  const name = 'x'.repeat(252);
  const a = policyIdRef('team-a', `${name}a`);
  const b = policyIdRef('team-a', `${name}b`);
  t.is(a.length, 120);
  t.not(a, b);
  t.regex(a, /~[0-9a-f]{8}$/);
  t.is(a.slice(0, 100), b.slice(0, 100), 'the cut prefixes are equal; only the hash differs');
  t.is((parseAclId(policyRuleId('out', 'team-a', `${name}a`, 0, 0)) as { policyRef: string }).policyRef, a);
});
