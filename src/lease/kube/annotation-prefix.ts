import { KubeSubnetError } from './errors.js';

/**
 * flannel's check on a normalised prefix: a DNS-like domain of at least two labels, a slash,
 * then optionally a name ending in "-" (see pkg/subnet/kube/annotations.go).
 */
const NORMALISED_PREFIX = /^(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/;

/**
 * Normalises `--kube-annotation-prefix` as flanneld does, so annotation names match those Linux
 * nodes write: at most one "/", a missing "/" is appended, and a prefix that then ends in
 * neither "/" nor "-" gets a "-".
 * @example normaliseAnnotationPrefix('flannel.alpha.coreos.com') // 'flannel.alpha.coreos.com/'
 * @example normaliseAnnotationPrefix('example.com/foo') // 'example.com/foo-'
 * @throws KubeSubnetError `KUBE_ANNOTATION_PREFIX` for more than one "/", upper case, or a
 *   single-label domain (`org`, `org.COM`, `org.com/PREFIX` are all rejected).
 */
export function normaliseAnnotationPrefix(raw: string): string {
  const slashes = raw.split('/').length - 1;
  if (slashes > 1) {
    throw new KubeSubnetError(
      'KUBE_ANNOTATION_PREFIX',
      `--kube-annotation-prefix "${raw}" contains ${slashes} slashes; at most one is allowed`,
      { prefix: raw },
    );
  }
  let prefix = slashes === 0 ? `${raw}/` : raw;
  if (!prefix.endsWith('/') && !prefix.endsWith('-')) prefix += '-';
  if (!NORMALISED_PREFIX.test(prefix)) {
    throw new KubeSubnetError(
      'KUBE_ANNOTATION_PREFIX',
      `--kube-annotation-prefix "${raw}" is not a valid Kubernetes annotation prefix ` +
        '(lower-case domain with at least two labels, optionally "/name")',
      { prefix: raw, normalised: prefix },
    );
  }
  return prefix;
}
