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

/** One parsed entry under `<prefix>/subnets/`, with what a conditional write needs. */
export interface LeaseRecord {
  readonly key: string;
  readonly value: string;
  readonly etcdLeaseId: string;
  readonly modRevision: string;
  readonly lease: Lease;
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

  async listRecords(): Promise<{ records: LeaseRecord[]; revision: bigint }> {
    const prefix = this.layout.subnetsPrefix;
    const res = await this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixRangeEnd(prefix) });
    const now = this.now();
    const records = await Promise.all(res.kvs.map((kv) => this.recordOf(kv, now)));
    return { records: records.filter((r): r is LeaseRecord => r !== undefined), revision: BigInt(res.header.revision) };
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

  private async leaseOfPut(event: IEvent, now: Date): Promise<Lease | undefined> {
    const record = await this.recordOf(event.kv, now).catch((err: unknown) => {
      // A failed TTL lookup must not drop the event: the peer is real, only its expiry is unknown.
      const key = event.kv.key.toString();
      this.log.warn({ key, err: describeError(err) }, 'cannot read the TTL of a peer lease; delivering it without expiry');
      try {
        return { lease: leaseFromKeyValue(this.layout.subnetsPrefix, key, event.kv.value.toString(), undefined) };
      } catch (parseErr) {
        this.warnBadRecord(key, event.kv.mod_revision, parseErr);
        return undefined;
      }
    });
    return record?.lease;
  }

  private leaseOfDelete(event: IEvent): Lease | undefined {
    const key = event.kv.key.toString();
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

  async leaseEvents(events: readonly IEvent[]): Promise<LeaseEvent[]> {
    const now = this.now();
    const out: LeaseEvent[] = [];
    for (const event of events) {
      if (event.type === 'Delete') {
        const lease = this.leaseOfDelete(event);
        if (lease) out.push({ type: 'removed', lease });
      } else {
        const lease = await this.leaseOfPut(event, now);
        if (lease) out.push({ type: 'added', lease });
      }
    }
    return out;
  }
}
