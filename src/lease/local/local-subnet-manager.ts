import { watch as watchFs } from 'node:fs';
import { basename, dirname } from 'node:path';
import { sleep } from '../../async/abortable-sleep.js';
import type { NetConfig } from '../../config/net-config.js';
import { checkNetworkConfig, parseNetConfig } from '../../config/parse-net-config.js';
import type { CheckedNetConfig } from '../../config/net-config.js';
import { chooseSubnet as chooseFreeSubnet, ip4SubnetFitsConfig, type IgnoredLease } from '../subnet-allocator.js';
import { describeError, FlannelWinError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { formatIp4Net, type Ip4Net } from '../../net/ip.js';
import { sameAttrs } from '../lease-identity.js';
import type { KeepLeaseHooks, Lease, LeaseEvent, LeaseRequest, LeaseWatchResult, SubnetManager } from '../types.js';
import {
  DEFAULT_LOCAL_NET_CONFIG,
  leaseEntries,
  leaseFileVersion,
  leaseValue,
  readLeaseFile,
  subnetKey,
  updateLeaseFile,
  type LeaseFileEntry,
} from './lease-file.js';

export class LocalLeaseError extends FlannelWinError {}

export interface LocalSubnetManagerOptions {
  path: string;
  log: Logger;
  /** How often the file is checked for changes (fs.watch speeds this up where it works). */
  pollMs?: number;
}

function toLease(entry: LeaseFileEntry): Lease {
  return { enableIpv4: true, enableIpv6: false, subnet: entry.subnet, ipv6Subnet: undefined, attrs: entry.attrs, expiration: undefined };
}

/**
 * The embedded default: leases in a local JSON file (see lease-file.ts) instead of etcd or the
 * Kubernetes API, for the demo and single-host trials. IPv4 only. It behaves like the etcd
 * manager where it matters downstream: the first watch result is a snapshot, later ones are
 * events, a bad record is skipped with a warning.
 */
export class LocalSubnetManager implements SubnetManager {
  readonly kind = 'local' as const;
  private readonly pollMs: number;
  private readonly warned = new Map<string, string>();

  constructor(private readonly options: LocalSubnetManagerOptions) {
    this.pollMs = options.pollMs ?? 200;
  }

  async getNetworkConfig(signal: AbortSignal): Promise<NetConfig> {
    const { path, log } = this.options;
    const config = await updateLeaseFile(
      path,
      (doc) => {
        if (doc.config === undefined) {
          doc.config = DEFAULT_LOCAL_NET_CONFIG;
          log.info({ path, config: DEFAULT_LOCAL_NET_CONFIG }, 'lease file has no network config; wrote the embedded default');
        }
        return doc.config;
      },
      signal,
    );
    const source = `${path} "config"`;
    return checkNetworkConfig(parseNetConfig(JSON.stringify(config), source), source);
  }

  async acquireLease(request: LeaseRequest, signal: AbortSignal): Promise<Lease> {
    const config = await this.getNetworkConfig(signal);
    const { path, log } = this.options;
    const subnet = await updateLeaseFile(
      path,
      (doc) => {
        const { entries } = leaseEntries(doc);
        const chosen = chooseSubnet(config, entries, request, undefined, (ignored) => {
          for (const { label, reason } of ignored) log.warn({ key: label, path, reason }, `subnet allocation ignores a lease no node could hold: ${reason}`);
        });
        doc.subnets[subnetKey(chosen)] = leaseValue(request.attrs);
        return chosen;
      },
      signal,
    );
    log.info({ subnet: formatIp4Net(subnet), path }, 'local subnet lease written');
    return { enableIpv4: true, enableIpv6: false, subnet, ipv6Subnet: undefined, attrs: request.attrs, expiration: undefined };
  }

  /** Local leases never expire; the lease is re-written if someone deletes or alters it. */
  async keepLease(lease: Lease, request: LeaseRequest, signal: AbortSignal, hooks: KeepLeaseHooks = {}): Promise<void> {
    const key = subnetKey(lease.subnet!);
    let version = '';
    while (!signal.aborted) {
      try {
        const now = await leaseFileVersion(this.options.path);
        if (now !== version) {
          version = now;
          const doc = await readLeaseFile(this.options.path);
          const entry = leaseEntries(doc).entries.find((e) => e.key === key);
          if (!entry || !sameAttrs(entry.attrs, request.attrs)) {
            hooks.onLost?.(entry ? `lease ${key} was altered in ${this.options.path}` : `lease ${key} was removed from ${this.options.path}`);
            const again = await this.acquireLease({ ...request, previousSubnet: lease.subnet }, signal);
            hooks.onReacquired?.(again);
            lease = again;
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        this.options.log.warn({ err: describeError(err) }, 'checking the local lease failed; will retry');
      }
      await sleep(this.pollMs * 5, signal).catch(() => undefined);
    }
  }

  async *watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult> {
    const { path } = this.options;
    let known = new Map<string, Lease>();
    let version: string | undefined;
    let first = true;
    const wake = { resolve: undefined as (() => void) | undefined };
    let watcher: ReturnType<typeof watchFs> | undefined;
    try {
      // Writers replace the file by rename, which ends a watch on the file itself: watch its directory.
      watcher = watchFs(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(path)) wake.resolve?.();
      });
      watcher.on('error', () => undefined);
    } catch {
      // The file may not exist yet; polling covers it.
    }
    try {
      while (!signal.aborted) {
        let current: string;
        try {
          current = await leaseFileVersion(path);
          if (current !== version) {
            const next = await this.readLeases();
            version = current;
            if (first) {
              first = false;
              known = next;
              yield { kind: 'snapshot', leases: [...next.values()] };
            } else {
              const events = diffLeases(known, next);
              known = next;
              if (events.length > 0) yield { kind: 'events', events };
            }
          }
        } catch (err) {
          if (signal.aborted) return;
          this.options.log.warn({ path, err: describeError(err) }, 'reading the local lease file failed; keeping the last good state');
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.pollMs);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
          wake.resolve = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      watcher?.close();
    }
  }

  async markNetworkUp(): Promise<void> {}

  async close(): Promise<void> {}

  private async readLeases(): Promise<Map<string, Lease>> {
    const doc = await readLeaseFile(this.options.path);
    const { entries, problems } = leaseEntries(doc);
    const seen = new Set<string>();
    for (const problem of problems) {
      seen.add(problem.key);
      if (this.warned.get(problem.key) === problem.message) continue;
      this.warned.set(problem.key, problem.message);
      this.options.log.warn({ key: problem.key, path: this.options.path }, `skipping a lease that does not parse: ${problem.message}`);
    }
    for (const key of this.warned.keys()) if (!seen.has(key)) this.warned.delete(key);
    return new Map(entries.map((e) => [e.key, toLease(e)]));
  }
}

/** Events that turn `before` into `after`; a changed lease is re-announced as added, as etcd does. */
export function diffLeases(before: ReadonlyMap<string, Lease>, after: ReadonlyMap<string, Lease>): LeaseEvent[] {
  const events: LeaseEvent[] = [];
  for (const [key, lease] of before) if (!after.has(key)) events.push({ type: 'removed', lease });
  for (const [key, lease] of after) {
    const old = before.get(key);
    if (!old || !sameAttrs(old.attrs, lease.attrs)) events.push({ type: 'added', lease });
  }
  return events;
}

/**
 * flannel's preference order: the subnet already holding our PublicIP, then (through the
 * shared allocator) the previous subnet from subnet.env, then a free one in [SubnetMin,
 * SubnetMax]. flannel picks at random among the first 100 free to make racing nodes collide
 * less; writers of a local file take a lock and cannot race, so the default is the lowest free
 * subnet, which keeps demos and trials predictable.
 */
export function chooseSubnet(
  config: CheckedNetConfig,
  entries: readonly LeaseFileEntry[],
  request: LeaseRequest,
  random: () => number = () => 0,
  onIgnored: (ignored: readonly IgnoredLease[]) => void = () => undefined,
): Ip4Net {
  if (!config.enableIpv4 || !config.network) {
    throw new LocalLeaseError('LOCAL_NO_IPV4', 'the local subnet manager needs an IPv4 Network in its config', {});
  }
  const mine = entries.find((e) => e.attrs.publicIp === request.attrs.publicIp);
  if (mine && ip4SubnetFitsConfig(config, mine.subnet)) return mine.subnet;
  const candidate = chooseFreeSubnet({
    config: { ...config, enableIpv6: false },
    taken: entries.map((e) => ({ subnet: e.subnet, ipv6Subnet: undefined, label: e.key })),
    previousSubnet: request.previousSubnet,
    random,
  });
  onIgnored(candidate.ignored);
  return candidate.subnet!;
}
