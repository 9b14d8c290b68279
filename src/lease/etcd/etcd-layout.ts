/** Where flannel keeps one network in etcd (compat/flannel.md §2.2). */

export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';

/** Joins path parts as Go's path.Join does for flannel's keys: no doubled or trailing slash. */
export function joinEtcdPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  const collapsed = joined.replace(/\/+/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

/** The etcd keys of one flannel network. */
export interface EtcdLayout {
  readonly configKey: string;
  /** `<prefix>/subnets/`, with the trailing slash, for prefix ranges and key parsing. */
  readonly subnetsPrefix: string;
}

export function etcdLayout(prefix: string): EtcdLayout {
  return {
    configKey: joinEtcdPath(prefix, 'config'),
    subnetsPrefix: `${joinEtcdPath(prefix, 'subnets')}/`,
  };
}
