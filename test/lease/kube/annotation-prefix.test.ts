import test from 'ava';
import { normaliseAnnotationPrefix } from '../../../src/lease/kube/annotation-prefix.js';
import { kubeAnnotationNames } from '../../../src/lease/kube/annotations.js';
import type { KubeSubnetError } from '../../../src/lease/kube/errors.js';

test('flannel\'s default prefix gives flannel\'s annotation names', (t) => {
  const names = kubeAnnotationNames(normaliseAnnotationPrefix('flannel.alpha.coreos.com'));
  t.deepEqual(Object.values(names).sort(), [
    'flannel.alpha.coreos.com/backend-data',
    'flannel.alpha.coreos.com/backend-type',
    'flannel.alpha.coreos.com/backend-v6-data',
    'flannel.alpha.coreos.com/kube-subnet-manager',
    'flannel.alpha.coreos.com/node-public-ip',
    'flannel.alpha.coreos.com/node-public-ipv6',
    'flannel.alpha.coreos.com/public-ip',
    'flannel.alpha.coreos.com/public-ip-overwrite',
    'flannel.alpha.coreos.com/public-ipv6',
    'flannel.alpha.coreos.com/public-ipv6-overwrite',
  ]);
});

for (const [raw, backendType] of [
  ['flannel.alpha.coreos.com/', 'flannel.alpha.coreos.com/backend-type'],
  ['flannel.alpha.coreos.com/prefix', 'flannel.alpha.coreos.com/prefix-backend-type'],
  ['example.com/foo', 'example.com/foo-backend-type'],
  ['example.com/foo-', 'example.com/foo-backend-type'],
  ['org.com/9', 'org.com/9-backend-type'],
  ['a_b.c-d.e', 'a_b.c-d.e/backend-type'],
] as const) {
  test(`prefix "${raw}" names backend-type "${backendType}"`, (t) => {
    t.is(kubeAnnotationNames(normaliseAnnotationPrefix(raw)).backendType, backendType);
  });
}

for (const raw of ['org', 'org.COM', 'org.com/PREFIX', 'a.b/c/d', '', '/x', 'example.com/foo bar', '.com']) {
  test(`prefix "${raw}" is rejected`, (t) => {
    const err = t.throws(() => normaliseAnnotationPrefix(raw));
    t.is((err as KubeSubnetError).code, 'KUBE_ANNOTATION_PREFIX');
    t.true(err!.message.includes(`"${raw}"`));
  });
}
