import type { Etcd3 } from 'etcd3';
import { sleep } from '../../async/abortable-sleep.js';
import { Backoff, type BackoffPolicy } from '../../async/backoff.js';
import { quoteValue } from '../../bounded-text.js';
import type { CheckedNetConfig, NetConfig } from '../../config/net-config.js';
import { checkNetworkConfig, NetConfigError } from '../../config/parse-net-config.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { encodeLeaseAttrs } from '../lease-json.js';
import { describeLease } from '../lease-identity.js';
import { chooseSubnet, leaseFitsConfig, type IgnoredLease } from '../subnet-allocator.js';
import type { KeepLeaseHooks, Lease, LeaseAttrs, LeaseRequest, LeaseWatchResult, SubnetManager } from '../types.js';
import { createEtcdClient, describeEtcdTransport, EtcdConfigError, prefixRangeEnd, usesTls, type EtcdConnectionOptions } from './etcd-client.js';
import { NO_ETCD_LEASE } from './etcd-lease-record.js';
import { EtcdLeaseIndex } from './etcd-lease-index.js';
import { EtcdLeaseStore, type LeaseRecord, type LeaseRecordPage, type RenewOutcome } from './etcd-lease-store.js';
import { SubnetRaceLostError } from './errors.js';
import { watchRange } from './range-watch.js';
import { DEFAULT_ETCD_PREFIX, etcdLayout, type EtcdLayout } from './etcd-layout.js';

export interface EtcdSubnetManagerOptions extends EtcdConnectionOptions {
  /** Default `/coreos.com/network`, as flannel's `--etcd-prefix`. */
  prefix?: string | undefined;
  log: Logger;
  /** Renew this long before expiry (flannel's `--subnet-lease-renew-margin`, default 60). */
  renewMarginMinutes?: number | undefined;
  /** TTL of each etcd lease granted for the own key (flannel: 24 h). */
  leaseTtlSeconds?: number | undefined;
  random?: (() => number) | undefined;
  now?: (() => Date) | undefined;
  /** Report peers' expiry in their leases (one etcd call per key); see EtcdLeaseStoreOptions. */
  peerExpiry?: boolean | undefined;
  /** Keys per listing request. @default 500 */
  listPageSize?: number | undefined;
}

/** Keys a listing asks etcd for at once: bounds the raw response held in memory at 20,000 peers. */
export const DEFAULT_LIST_PAGE_SIZE = 500;

/** flannel's raceRetries: lost races retried at once before falling back to back-off. */
const RACE_RETRIES = 10;
/** Acquiring, renewing and re-reading the own lease: 0.5 s doubling to 30 s, up to half off. */
const LEASE_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.5 };
/** Relisting the leases after a failure, as flannel: 100 ms doubling to 5 s. */
const LIST_RETRY: BackoffPolicy = { baseMs: 100, maxMs: 5_000, jitter: 0 };

/**
 * flannel's etcd v3 subnet manager, wire-compatible with flanneld sharing the same etcd: the
 * same keys, values, 24 h etcd leases and create-if-absent transaction. Differences on purpose:
 * a lost create race is retried (flannel exits), a reservation (key without an etcd lease) is
 * kept without a TTL (flannel turns it into an expiring lease), a lost own lease is re-acquired
 * (flannel shuts down), and a key that does not parse is skipped (flannel's watch turns it into
 * an empty snapshot that removes every peer).
 */
export class EtcdSubnetManager implements SubnetManager {
  readonly kind = 'etcd' as const;
  private readonly client: Etcd3;
  private readonly store: EtcdLeaseStore;
  private readonly layout: EtcdLayout;
  private readonly log: Logger;
  private readonly renewMarginMs: number;
  private readonly random: () => number;
  private readonly now: () => Date;
  /** Aborted by close(), so background loops stop instead of retrying on a closed client. */
  private readonly closing = new AbortController();
  private readonly listPageSize: number;
  /** Every lease key this manager knows, folded in from listings and the watch. */
  private readonly index = new EtcdLeaseIndex();
  /**
   * The revision of the listing acquireLease folded into the index before the watch started:
   * the watch starts from it instead of listing every lease a second time at start-up.
   */
  private primedRevision: bigint | undefined;
  private watchStarted = false;

  constructor(options: EtcdSubnetManagerOptions) {
    this.layout = etcdLayout(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.log = options.log.child({ component: 'etcd-subnet-manager' });
    const leaseTtlSeconds = options.leaseTtlSeconds ?? 86_400;
    this.renewMarginMs = (options.renewMarginMinutes ?? 60) * 60_000;
    if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds <= 0) {
      throw new EtcdConfigError(`lease TTL must be a positive whole number of seconds, got ${leaseTtlSeconds}`, { leaseTtlSeconds });
    }
    if (!(this.renewMarginMs > 0 && this.renewMarginMs < leaseTtlSeconds * 1000)) {
      throw new EtcdConfigError(`renew margin must be positive and shorter than the lease TTL (${leaseTtlSeconds} s)`, {
        renewMarginMinutes: options.renewMarginMinutes,
      });
    }
    this.listPageSize = options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1) {
      throw new EtcdConfigError(`list page size must be a whole number >= 1, got ${this.listPageSize}`, { listPageSize: this.listPageSize });
    }
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    this.log[usesTls(options) ? 'info' : 'warn']({ endpoints: options.endpoints }, describeEtcdTransport(options));
    this.client = createEtcdClient(options);
    this.store = new EtcdLeaseStore({ client: this.client, layout: this.layout, log: this.log, leaseTtlSeconds, now: this.now, peerExpiry: options.peerExpiry === true });
  }

  private untilClosed(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.closing.signal]);
  }

  // ---- config ----

  /** Reads `<prefix>/config`, retrying every second (as flanneld's main) until it parses. */
  async getNetworkConfig(callerSignal: AbortSignal): Promise<NetConfig> {
    const signal = this.untilClosed(callerSignal);
    // Said once, then at debug level: the key may stay missing for a long time by design.
    let said = false;
    for (;;) {
      signal.throwIfAborted();
      try {
        return await this.store.readNetworkConfig();
      } catch (err) {
        if (signal.aborted) throw err;
        const level = said ? 'debug' : err instanceof NetConfigError ? 'error' : 'warn';
        said = true;
        this.log[level]({ err: describeError(err), key: this.layout.configKey }, 'cannot get the network config from etcd; retrying every second (further failures at debug level)');
        await sleep(1000, signal);
      }
    }
  }

  // ---- acquiring ----

  private attrsFor(request: LeaseRequest, config: CheckedNetConfig): LeaseAttrs {
    return config.enableIpv6 ? request.attrs : { ...request.attrs, publicIpv6: null };
  }

  private readonly warnedIgnored = new Set<string>();

  /** Junk keys the allocator did not count: said once per key, not per attempt. */
  private warnIgnoredLeases(ignored: readonly IgnoredLease[]): void {
    for (const { label, reason } of ignored) {
      if (this.warnedIgnored.has(label)) continue;
      this.warnedIgnored.add(label);
      this.log.warn({ key: this.layout.subnetsPrefix + label, reason }, `subnet allocation ignores a lease no node could hold: ${reason}`);
    }
  }

  /** One pass of flannel's tryAcquireLease: reuse by PublicIP, else previous subnet, else random. */
  private async tryAcquireLease(request: LeaseRequest): Promise<Lease> {
    const config = checkNetworkConfig(await this.store.readNetworkConfig(), `etcd key ${this.layout.configKey}`);
    if (!config.enableIpv4) {
      throw new NetConfigError('etcd mode needs EnableIPv4: flannel subnet keys have no IPv6-only form', { field: 'EnableIPv4' });
    }
    const attrs = this.attrsFor(request, config);
    // One paged listing: every lease (for the free subnets, and for the watch to start from)
    // and the full records of those with our PublicIP (the only ones written to).
    const leases: Lease[] = [];
    const ours: LeaseRecord[] = [];
    // Before the watch runs, the listing goes into the index too, and the watch starts from it.
    const relist = this.watchStarted ? undefined : this.index.beginRelist();
    let revision = 0n;
    for await (const page of this.listPages()) {
      revision = page.revision;
      if (relist) this.index.foldPage(relist, page.records);
      for (const record of page.records) {
        leases.push(record.lease);
        if (record.lease.attrs.publicIp === attrs.publicIp) ours.push(record);
      }
    }
    if (relist) {
      this.index.finishRelist(relist);
      this.primedRevision = revision;
    }
    const lease = await this.claim(config, attrs, leases, ours, request);
    // The watch's first snapshot holds every lease, own included; the own write itself comes
    // through the watch too (its revision is after the listing's).
    if (relist) this.index.put({ key: this.store.keyOf(lease), modRevision: '', lease });
    return lease;
  }

  /** Reuses the lease with our PublicIP, or creates one in a free subnet. */
  private async claim(config: CheckedNetConfig, attrs: LeaseAttrs, leases: readonly Lease[], ours: readonly LeaseRecord[], request: LeaseRequest): Promise<Lease> {
    const removed = new Set<Lease>();
    for (const record of ours) {
      if (leaseFitsConfig(config, record.lease)) return await this.store.updateOwnRecord(record, attrs);
      if (record.etcdLeaseId === NO_ETCD_LEASE) {
        this.log.warn({ key: record.key }, 'a reservation has our PublicIP but does not fit the network config; leaving it alone');
        continue;
      }
      this.log.info({ key: record.key }, 'deleting our old lease: it does not fit the network config any more');
      await this.store.deleteRecord(record);
      if (!this.watchStarted) this.index.delete(record.key);
      removed.add(record.lease);
    }
    const candidate = chooseSubnet({
      config,
      taken: removed.size > 0 ? leases.filter((l) => !removed.has(l)) : leases,
      previousSubnet: request.previousSubnet,
      previousIpv6Subnet: request.previousIpv6Subnet,
      random: this.random,
    });
    this.warnIgnoredLeases(candidate.ignored);
    return await this.store.createRecord(candidate, attrs);
  }

  /**
   * Acquires the own lease. Never gives up: a lost race is retried at once up to 10 times,
   * then (like any other failure: etcd down, no config, out of subnets) with back-off, until
   * `signal` aborts.
   */
  async acquireLease(request: LeaseRequest, callerSignal: AbortSignal): Promise<Lease> {
    const signal = this.untilClosed(callerSignal);
    let races = 0;
    const backoff = new Backoff(LEASE_RETRY, this.random);
    for (;;) {
      signal.throwIfAborted();
      try {
        const lease = await this.tryAcquireLease(request);
        this.log.info({ lease: describeLease(lease), expiration: lease.expiration?.toISOString() }, 'acquired subnet lease');
        return lease;
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof SubnetRaceLostError && ++races <= RACE_RETRIES) {
          this.log.info({ err: describeError(err), attempt: races }, 'subnet race lost; retrying with a fresh list');
          continue;
        }
        const wait = backoff.next();
        this.log.error({ err: describeError(err), attempt: backoff.failures, retryInMs: wait }, 'acquiring a subnet lease failed; retrying');
        await sleep(wait, signal);
      }
    }
  }

  // ---- keeping ----

  private async renewWithRetry(lease: Lease, signal: AbortSignal, hooks: KeepLeaseHooks): Promise<RenewOutcome | undefined> {
    const backoff = new Backoff(LEASE_RETRY, this.random);
    while (!signal.aborted) {
      try {
        return await this.store.renewOnce(lease);
      } catch (err) {
        if (signal.aborted) return undefined;
        hooks.onRenewFailed?.(err);
        const wait = backoff.next();
        this.log.error({ err: describeError(err), key: this.store.keyOf(lease), retryInMs: wait }, 'renewing the subnet lease failed; retrying');
        await sleep(wait, signal);
      }
    }
    return undefined;
  }

  /**
   * Resolves with a reason once the own key is deleted, expires or gets another node's value;
   * with undefined when `signal` aborts. Watches from the revision it read the key at, so a
   * deletion between two reads is not missed; after a compaction it reads the key again.
   */
  private async waitForLoss(lease: Lease, signal: AbortSignal): Promise<string | undefined> {
    const keyText = this.store.keyOf(lease);
    const ourValue = encodeLeaseAttrs(lease.attrs);
    const backoff = new Backoff(LEASE_RETRY, this.random);
    while (!signal.aborted) {
      let current: { value: string | undefined; revision: bigint };
      try {
        current = await this.store.readKey(keyText);
      } catch (err) {
        if (signal.aborted) return undefined;
        const wait = backoff.next();
        this.log.warn({ err: describeError(err), key: keyText, retryInMs: wait }, 'cannot read the own lease key; retrying');
        await sleep(wait, signal);
        continue;
      }
      backoff.reset();
      if (current.value === undefined) return `${keyText} was deleted or expired`;
      if (current.value !== ourValue) return `${keyText} now holds another value: ${quoteValue(current.value)}`;
      const batches = watchRange(this.store.watchClient, {
        key: Buffer.from(keyText),
        startRevision: current.revision + 1n,
        signal,
        log: this.log,
      });
      for await (const batch of batches) {
        if (batch.kind === 'compacted') break;
        for (const event of batch.events) {
          if (event.type === 'Delete') return `${keyText} was deleted or expired`;
          const value = event.kv.value.toString();
          if (value !== ourValue) return `${keyText} now holds another value: ${quoteValue(value)}`;
        }
      }
    }
    return undefined;
  }

  async keepLease(lease: Lease, request: LeaseRequest, callerSignal: AbortSignal, hooks: KeepLeaseHooks = {}): Promise<void> {
    const signal = this.untilClosed(callerSignal);
    let current = lease;
    while (!signal.aborted) {
      const cycle = new AbortController();
      const stopCycle = (): void => cycle.abort();
      signal.addEventListener('abort', stopCycle, { once: true });
      let reason: string | undefined;
      try {
        const lost = this.waitForLoss(current, cycle.signal).then(
          (r) => ({ lost: r }),
          (err: unknown) => {
            // Unexpected; a renewal now re-checks the key, so a loss is still noticed.
            this.log.warn({ err: describeError(err), lease: describeLease(current) }, 'own-lease watch failed; renewing now to re-check');
            return { renewDue: true as const };
          },
        );
        const waits: Promise<{ lost?: string | undefined; renewDue?: true }>[] = [lost];
        if (current.expiration !== undefined) {
          const dueInMs = Math.max(0, current.expiration.getTime() - this.now().getTime() - this.renewMarginMs);
          waits.push(sleep(dueInMs, cycle.signal).then(() => ({ renewDue: true as const })));
        }
        const first = await Promise.race(waits);
        cycle.abort();
        if (signal.aborted) return;
        // A reservation has no TTL to renew and must never get one: just watch it again.
        if (first.renewDue && current.expiration === undefined) continue;
        if (first.renewDue) {
          const outcome = await this.renewWithRetry(current, signal, hooks);
          if (outcome === undefined) return;
          if (outcome.kind === 'renewed') {
            current = outcome.lease;
            this.log.info({ lease: describeLease(current), expiration: current.expiration?.toISOString() }, 'renewed subnet lease');
            hooks.onRenewed?.(current);
            continue;
          }
          reason = outcome.reason;
        } else {
          reason = first.lost;
        }
      } finally {
        cycle.abort();
        signal.removeEventListener('abort', stopCycle);
      }
      if (reason === undefined || signal.aborted) return;
      this.log.error({ lease: describeLease(current), reason }, 'OWN SUBNET LEASE LOST; re-acquiring (peers may have removed our routes)');
      hooks.onLost?.(reason);
      try {
        current = await this.acquireLease(request, signal);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      this.log.warn({ lease: describeLease(current) }, 're-acquired subnet lease after losing it');
      hooks.onReacquired?.(current);
    }
  }

  // ---- watching ----

  /** The lease listing, page by page, with a debug line once it is complete. */
  private async *listPages(): AsyncGenerator<LeaseRecordPage> {
    let pages = 0;
    let leases = 0;
    for await (const page of this.store.listPages(this.listPageSize)) {
      pages++;
      leases += page.records.length;
      yield page;
      if (page.last) this.log.debug({ leases, pages, revision: page.revision.toString() }, 'listed the leases');
    }
  }

  /**
   * Lists every lease into the index. The first listing yields a snapshot (the complete set, as
   * the contract asks); a relist (after a compaction or a failed watch) is diffed against the
   * index page by page and yields only what changed: `added` for keys new or moved since last
   * seen, then `removed` for keys the listing no longer shows. Resolves with the revision.
   */
  private async *listInto(first: boolean): AsyncGenerator<LeaseWatchResult, bigint> {
    const relist = this.index.beginRelist();
    let revision = 0n;
    for await (const page of this.listPages()) {
      revision = page.revision;
      const events = this.index.foldPage(relist, page.records);
      if (!first && events.length > 0) yield { kind: 'events', events };
    }
    const removed = this.index.finishRelist(relist);
    if (first) yield { kind: 'snapshot', leases: this.index.leases() };
    else if (removed.length > 0) yield { kind: 'events', events: removed };
    return revision;
  }

  async *watchLeases(callerSignal: AbortSignal): AsyncIterable<LeaseWatchResult> {
    const signal = this.untilClosed(callerSignal);
    const prefix = this.layout.subnetsPrefix;
    this.watchStarted = true;
    const primed = this.primedRevision;
    this.primedRevision = undefined;
    let first = true;
    const backoff = new Backoff(LIST_RETRY, this.random);
    while (!signal.aborted) {
      let revision: bigint;
      if (first && primed !== undefined) {
        // acquireLease just listed every lease into the index: start from that listing and
        // watch from its revision, which delivers our own write and everything since.
        revision = primed;
        yield { kind: 'snapshot', leases: this.index.leases() };
      } else {
        try {
          const listing = this.listInto(first);
          for (;;) {
            const step = await listing.next();
            if (step.done) {
              revision = step.value;
              break;
            }
            yield step.value;
          }
        } catch (err) {
          if (signal.aborted) return;
          const wait = backoff.next();
          this.log.warn({ err: describeError(err), retryInMs: wait }, 'listing leases failed; retrying');
          await sleep(wait, signal);
          continue;
        }
      }
      first = false;
      backoff.reset();
      const batches = watchRange(this.store.watchClient, {
        key: Buffer.from(prefix),
        rangeEnd: prefixRangeEnd(prefix),
        startRevision: revision + 1n,
        prevKv: true,
        signal,
        log: this.log,
      });
      for await (const batch of batches) {
        if (batch.kind === 'compacted') {
          this.log.warn({ compactRevision: batch.compactRevision.toString() }, 'lease watch fell behind a compaction; relisting');
          break;
        }
        const events = await this.store.leaseEvents(batch.events, this.index);
        if (events.length > 0) yield { kind: 'events', events };
      }
    }
  }

  async markNetworkUp(_signal: AbortSignal): Promise<void> {
    // etcd mode has nothing to announce: the lease itself tells peers we exist.
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.client.close();
  }
}

/** Builds the etcd subnet manager from flag-level options (the daemon's entry point for etcd mode). */
export function createEtcdSubnetManager(options: EtcdSubnetManagerOptions): EtcdSubnetManager {
  return new EtcdSubnetManager(options);
}
