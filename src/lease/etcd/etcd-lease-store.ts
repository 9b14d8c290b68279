import PQueue from 'p-queue';
import type { Etcd3, IEvent, IKeyValue, WatchClient } from 'etcd3';
import type { NetConfig } from '../../config/net-config.js';
import { parseNetConfig } from '../../config/parse-net-config.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { encodeLeaseAttrs } from '../lease-json.js';
import { describeLease } from '../lease-identity.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../types.js';
import { prefixRangeEnd } from './etcd-client.js';
import { expirationOf, leaseFromKeyValue, NO_ETCD_LEASE, removedLeaseFromKey } from './etcd-lease-record.js';
import { EtcdStoreError, SubnetRaceLostError } from './errors.js';
import { makeSubnetKey } from '../subnet-key.js';
import type { EtcdLayout } from './etcd-layout.js';
import type { EtcdLeaseIndex } from './etcd-lease-index.js';

/** One parsed entry under `<prefix>/subnets/`, with what a conditional write needs. */
export interface LeaseRecord {
  readonly key: string;
  readonly value: string;
  readonly etcdLeaseId: string;
  readonly modRevision: string;
  readonly lease: Lease;
}

/** One page of a lease listing; `revision` is the snapshot's, the same for every page. */
export interface LeaseRecordPage {
  readonly records: readonly LeaseRecord[];
  readonly revision: bigint;
  /** No page follows. */
  readonly last: boolean;
}

export type RenewOutcome = { readonly kind: 'renewed'; readonly lease: Lease } | { readonly kind: 'lost'; readonly reason: string };

export interface EtcdLeaseStoreOptions {
  client: Etcd3;
  layout: EtcdLayout;
  log: Logger;
  leaseTtlSeconds: number;
  now: () => Date;
  /**
   * Look up each peer's expiry (one TimeToLive call per key, as flannel does). Nothing on the
   * data path reads a peer's expiry, and at 5,000 peers a relist would cost 5,000 calls and a
   * burst of memory, so it is off unless asked for; the own lease's expiry is always known
   * from the grant.
   */
  peerExpiry?: boolean;
}

/** TimeToLive calls in flight at once when peer expiry is wanted. */
const TTL_LOOKUP_CONCURRENCY = 16;

/**
 * flannel's etcd v3 layout, one call at a time: reading the config and the leases, and the
 * conditional writes (create-if-absent, update-if-unchanged, renew-if-still-ours) that keep two
 * nodes from ever holding the same subnet. The policy (what to try, when to retry) lives in
 * EtcdSubnetManager.
 */
export class EtcdLeaseStore {
  private readonly client: Etcd3;
  private readonly layout: EtcdLayout;
  private readonly log: Logger;
  private readonly leaseTtlSeconds: number;
  private readonly now: () => Date;
  private readonly ttlLookups: PQueue | undefined;
  /** etcd lease id currently attached to each own key, so a renewal can revoke the old one. */
  private readonly ownEtcdLeases = new Map<string, string>();
  /** `key@modRevision` of bad records already warned about, so a relist does not repeat them. */
  private readonly warnedRecords = new Set<string>();

  constructor(options: EtcdLeaseStoreOptions) {
    this.client = options.client;
    this.layout = options.layout;
    this.log = options.log;
    this.leaseTtlSeconds = options.leaseTtlSeconds;
    this.now = options.now;
    this.ttlLookups = options.peerExpiry ? new PQueue({ concurrency: TTL_LOOKUP_CONCURRENCY }) : undefined;
  }

  get watchClient(): WatchClient {
    return this.client.watchClient;
  }

  /** The own key's current value and the revision it was read at; undefined value when absent. */
  async readKey(key: string): Promise<{ value: string | undefined; revision: bigint }> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    return { value: res.kvs[0]?.value.toString(), revision: BigInt(res.header.revision) };
  }

  async readNetworkConfig(): Promise<NetConfig> {
    const res = await this.client.kv.range({ key: Buffer.from(this.layout.configKey) });
    const kv = res.kvs[0];
    if (!kv) {
      throw new EtcdStoreError('flannel config not found in etcd store. Did you create your config using etcdv3 API?', {
        key: this.layout.configKey,
      });
    }
    return parseNetConfig(kv.value.toString(), `etcd key ${this.layout.configKey}`);
  }

  private async ttlSeconds(etcdLeaseId: string): Promise<number> {
    const res = await this.client.leaseClient.leaseTimeToLive({ ID: etcdLeaseId });
    return Number(res.TTL);
  }

  private warnBadRecord(key: string, modRevision: string, err: unknown): void {
    const id = `${key}@${modRevision}`;
    if (this.warnedRecords.has(id)) return;
    this.warnedRecords.add(id);
    this.log.warn({ key, err: describeError(err) }, 'skipping an etcd key under subnets/ that is not a flannel lease');
  }

  /** A record for `kv`, or undefined (after one warning) when flannel could not parse it either. */
  private async recordOf(kv: IKeyValue, now: Date): Promise<LeaseRecord | undefined> {
    const key = kv.key.toString();
    const value = kv.value.toString();
    let lease: Lease;
    try {
      // Parse before asking for the TTL: a garbage key costs no extra round trip.
      lease = leaseFromKeyValue(this.layout.subnetsPrefix, key, value, undefined);
    } catch (err) {
      this.warnBadRecord(key, kv.mod_revision, err);
      return undefined;
    }
    if (kv.lease !== NO_ETCD_LEASE && this.ttlLookups) {
      const ttl = await this.ttlLookups.add(() => this.ttlSeconds(kv.lease));
      lease = { ...lease, expiration: expirationOf(kv.lease, ttl, now) };
    }
    return { key, value, etcdLeaseId: kv.lease, modRevision: kv.mod_revision, lease };
  }

  /**
   * The lease keys, `pageSize` at a time (by key, each page continuing after the last key of the
   * one before), every page read at the revision of the first so that together they are one
   * consistent snapshot. Only one page's raw response is held at a time. Throws when etcd
   * compacts that revision away mid-listing; the caller lists again.
   */
  async *listPages(pageSize: number): AsyncGenerator<LeaseRecordPage> {
    const prefix = this.layout.subnetsPrefix;
    const rangeEnd = prefixRangeEnd(prefix);
    let from = Buffer.from(prefix);
    let revision: string | undefined;
    for (;;) {
      const res = await this.client.kv.range({ key: from, range_end: rangeEnd, limit: pageSize, ...(revision !== undefined && { revision }) });
      // A range at a past revision is stamped with the current one: keep the first page's.
      revision ??= res.header.revision;
      const now = this.now();
      const records = await Promise.all(res.kvs.map((kv) => this.recordOf(kv, now)));
      const last = res.kvs.at(-1);
      const more = res.more && last !== undefined;
      yield { records: records.filter((r): r is LeaseRecord => r !== undefined), revision: BigInt(revision), last: !more };
      if (!more) return;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  private async grant(): Promise<{ id: string; ttlSeconds: number }> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: this.leaseTtlSeconds });
    return { id: res.ID, ttlSeconds: Number(res.TTL) };
  }

  /** Best effort: an unrevoked lease only lingers, keyless, until its TTL runs out. */
  private async revoke(etcdLeaseId: string, why: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: etcdLeaseId });
    } catch (err) {
      this.log.debug({ etcdLeaseId, why, err: describeError(err) }, 'could not revoke an unused etcd lease; it will expire');
    }
  }

  private expiresAt(ttlSeconds: number): Date {
    return new Date(this.now().getTime() + ttlSeconds * 1000);
  }

  private leaseFor(template: Pick<Lease, 'subnet' | 'ipv6Subnet'>, attrs: LeaseAttrs, expiration: Date | undefined): Lease {
    return {
      enableIpv4: true,
      enableIpv6: template.ipv6Subnet !== undefined,
      subnet: template.subnet,
      ipv6Subnet: template.ipv6Subnet,
      attrs,
      expiration,
    };
  }

  /** Rewrites the own key found by PublicIP; a reservation stays without an etcd lease. */
  async updateOwnRecord(record: LeaseRecord, attrs: LeaseAttrs): Promise<Lease> {
    const value = encodeLeaseAttrs(attrs);
    const key = Buffer.from(record.key);
    const unchanged = [{ key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: record.modRevision }];
    if (record.etcdLeaseId === NO_ETCD_LEASE) {
      if (record.value !== value) {
        const res = await this.client.kv.txn({ compare: unchanged, success: [{ request_put: { key, value: Buffer.from(value) } }] });
        if (!res.succeeded) throw new SubnetRaceLostError(record.key, 'update');
      }
      this.ownEtcdLeases.delete(record.key);
      this.log.info({ key: record.key }, 'reusing our reservation (kept without a TTL)');
      return this.leaseFor(record.lease, attrs, undefined);
    }
    const granted = await this.grant();
    const res = await this.client.kv.txn({
      compare: unchanged,
      success: [{ request_put: { key, value: Buffer.from(value), lease: granted.id } }],
    });
    if (!res.succeeded) {
      await this.revoke(granted.id, 'update lost a race');
      throw new SubnetRaceLostError(record.key, 'update');
    }
    await this.revoke(record.etcdLeaseId, 'replaced by a new lease');
    this.ownEtcdLeases.set(record.key, granted.id);
    this.log.info({ key: record.key, etcdLeaseId: granted.id, ttlSeconds: granted.ttlSeconds }, 'reusing the lease that has our PublicIP');
    return this.leaseFor(record.lease, attrs, this.expiresAt(granted.ttlSeconds));
  }

  async deleteRecord(record: LeaseRecord): Promise<void> {
    const res = await this.client.kv.txn({
      compare: [{ key: Buffer.from(record.key), target: 'Mod', result: 'Equal', mod_revision: record.modRevision }],
      success: [{ request_delete_range: { key: Buffer.from(record.key) } }],
    });
    if (!res.succeeded) throw new SubnetRaceLostError(record.key, 'delete');
  }

  async createRecord(template: Pick<Lease, 'subnet' | 'ipv6Subnet'>, attrs: LeaseAttrs): Promise<Lease> {
    if (template.subnet === undefined) throw new EtcdStoreError('cannot create a lease without an IPv4 subnet', {});
    const keyText = this.layout.subnetsPrefix + makeSubnetKey(template.subnet, template.ipv6Subnet);
    const key = Buffer.from(keyText);
    const granted = await this.grant();
    const res = await this.client.kv.txn({
      compare: [{ key, target: 'Version', result: 'Equal', version: 0 }],
      success: [{ request_put: { key, value: Buffer.from(encodeLeaseAttrs(attrs)), lease: granted.id } }],
    });
    if (!res.succeeded) {
      await this.revoke(granted.id, 'create lost a race');
      throw new SubnetRaceLostError(keyText, 'create');
    }
    this.ownEtcdLeases.set(keyText, granted.id);
    this.log.info({ key: keyText, etcdLeaseId: granted.id, ttlSeconds: granted.ttlSeconds }, 'created a new subnet lease');
    return this.leaseFor(template, attrs, this.expiresAt(granted.ttlSeconds));
  }

  keyOf(lease: Lease): string {
    if (lease.subnet === undefined) throw new EtcdStoreError('an etcd lease always has an IPv4 subnet', { lease: describeLease(lease) });
    return this.layout.subnetsPrefix + makeSubnetKey(lease.subnet, lease.ipv6Subnet);
  }

  /** Renews by moving the key to a fresh etcd lease, only while it still holds our value. */
  async renewOnce(lease: Lease): Promise<RenewOutcome> {
    const keyText = this.keyOf(lease);
    const key = Buffer.from(keyText);
    const value = Buffer.from(encodeLeaseAttrs(lease.attrs));
    const granted = await this.grant();
    const res = await this.client.kv.txn({
      compare: [{ key, target: 'Value', result: 'Equal', value }],
      success: [{ request_put: { key, value, lease: granted.id } }],
    });
    if (!res.succeeded) {
      await this.revoke(granted.id, 'renewal found the key gone');
      return { kind: 'lost', reason: `${keyText} is gone or holds another node's value at renewal` };
    }
    const previous = this.ownEtcdLeases.get(keyText);
    this.ownEtcdLeases.set(keyText, granted.id);
    if (previous !== undefined && previous !== granted.id) await this.revoke(previous, 'replaced by renewal');
    return { kind: 'renewed', lease: { ...lease, expiration: this.expiresAt(granted.ttlSeconds) } };
  }

  /** The record a put event carries, or undefined (after a warning) when it does not parse. */
  private async recordOfPut(event: IEvent, now: Date): Promise<LeaseRecord | undefined> {
    return this.recordOf(event.kv, now).catch((err: unknown) => {
      // A failed TTL lookup must not drop the event: the peer is real, only its expiry is unknown.
      const kv = event.kv;
      const key = kv.key.toString();
      this.log.warn({ key, err: describeError(err) }, 'cannot read the TTL of a peer lease; delivering it without expiry');
      try {
        const value = kv.value.toString();
        const lease = leaseFromKeyValue(this.layout.subnetsPrefix, key, value, undefined);
        return { key, value, etcdLeaseId: kv.lease, modRevision: kv.mod_revision, lease };
      } catch (parseErr) {
        this.warnBadRecord(key, kv.mod_revision, parseErr);
        return undefined;
      }
    });
  }

  private leaseOfDelete(event: IEvent, index: EtcdLeaseIndex): Lease | undefined {
    const key = event.kv.key.toString();
    const known = index.delete(key);
    if (known) return known;
    const prev = event.prev_kv as IKeyValue | null | undefined;
    if (prev && prev.key.length > 0) {
      try {
        return leaseFromKeyValue(this.layout.subnetsPrefix, key, prev.value.toString(), undefined);
      } catch {
        // fall back to the key: the removal matters even if the old value was junk
      }
    }
    try {
      return removedLeaseFromKey(this.layout.subnetsPrefix, key);
    } catch (err) {
      this.warnBadRecord(key, event.kv.mod_revision, err);
      return undefined;
    }
  }

  /**
   * A renewal: the same value put again under a new etcd lease, told by the previous value the
   * watch carries (prev_kv), so it costs no parse and yields no event. Not when peers' expiry is
   * reported, since the expiry is what a renewal changes.
   */
  private isRenewal(event: IEvent): boolean {
    if (this.ttlLookups) return false;
    const prev = event.prev_kv as IKeyValue | null | undefined;
    return prev !== null && prev !== undefined && prev.key.length > 0 && prev.value.equals(event.kv.value);
  }

  /**
   * Turns a batch of watch events into lease events and folds them into `index`. Renewals are
   * dropped here (see isRenewal); a put of a key the index knows is a change, reported as
   * `added` (the lease watcher compares it with what it holds).
   */
  async leaseEvents(events: readonly IEvent[], index: EtcdLeaseIndex): Promise<LeaseEvent[]> {
    const now = this.now();
    const out: LeaseEvent[] = [];
    for (const event of events) {
      if (event.type === 'Delete') {
        const lease = this.leaseOfDelete(event, index);
        if (lease) out.push({ type: 'removed', lease });
        continue;
      }
      const key = event.kv.key.toString();
      if (this.isRenewal(event) && index.renew(key, event.kv.mod_revision)) continue;
      const record = await this.recordOfPut(event, now);
      if (!record) continue;
      index.put(record);
      out.push({ type: 'added', lease: record.lease });
    }
    return out;
  }
}
