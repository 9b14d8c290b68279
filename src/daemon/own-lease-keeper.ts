import { retryWithBackoff } from '../async/retry.js';
import { describeError } from '../errors.js';
import { describeLease, leaseIdentity } from '../lease/lease-identity.js';
import type { Lease, LeaseRequest, SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { formatIp4Net } from '../net/ip.js';

/**
 * Keeps the own lease (renewal, re-acquisition after a loss) and publishes new attributes when
 * the backend asks (a recreated vxlan network has a new DR MAC, which peers must learn as our
 * VtepMAC). The subnet manager's `keepLease` holds the attributes it was started with and would
 * restore them, so publishing stops it, acquires the lease again with the new request (the
 * same subnet: every store updates its own record in place) and starts keeping that.
 */
/** The lease figures the keeper reports (DaemonMetrics provides them). */
export interface LeaseKeeperMetrics {
  leaseExpiry: { set(labels: { subnet: string }, value: number): void; reset(): void };
  leaseRenewals: { inc(): void };
  leaseRenewalFailures: { inc(): void };
  storeErrors: { inc(labels: { store: string; operation: string }): void };
}

export class OwnLeaseKeeper {
  #lease: Lease;
  #request: LeaseRequest;
  #keeping: { stop: AbortController; done: Promise<void> } | undefined;
  #publishing: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      subnetManager: SubnetManager;
      log: Logger;
      lease: Lease;
      request: LeaseRequest;
      /** The lease came back on another subnet: the network and the pods are in the old one. */
      onMoved(before: string | undefined, after: string | undefined): void;
      metrics?: LeaseKeeperMetrics;
    },
  ) {
    this.#lease = deps.lease;
    this.#request = deps.request;
    this.#exportExpiry();
  }

  #exportExpiry(): void {
    const expiry = this.#lease.expiration;
    // One series, for the subnet held now; none for a lease that does not expire.
    this.deps.metrics?.leaseExpiry.reset();
    if (expiry !== undefined) this.deps.metrics?.leaseExpiry.set({ subnet: leaseIdentity(this.#lease) }, expiry.getTime() / 1000);
  }

  current(): Lease {
    return this.#lease;
  }

  /** Keeps the lease until `signal` aborts. */
  start(signal: AbortSignal): void {
    const stop = new AbortController();
    const linked = AbortSignal.any([signal, stop.signal]);
    const done = this.#keep(linked, signal);
    this.#keeping = { stop, done };
  }

  /**
   * Resolves once keeping has stopped for good (call it after the start signal aborted): also
   * waits for a keeper that a publish in progress started meanwhile.
   */
  async stopped(): Promise<void> {
    let keeping;
    do {
      keeping = this.#keeping;
      await keeping?.done;
      await this.#publishing;
    } while (keeping !== this.#keeping);
  }

  /** Publishes `request` (same subnet, new attributes), then keeps that lease. */
  republish(request: LeaseRequest, signal: AbortSignal): Promise<void> {
    const run = this.#republish(request, signal);
    const settled: Promise<void> = run.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      if (this.#publishing === settled) this.#publishing = undefined;
    });
    this.#publishing = settled;
    return run;
  }

  async #republish(request: LeaseRequest, signal: AbortSignal): Promise<void> {
    const { subnetManager, log } = this.deps;
    const before = subnetOf(this.#lease);
    this.#keeping?.stop.abort();
    await this.#keeping?.done;
    try {
      const lease = await retryWithBackoff(() => subnetManager.acquireLease(request, signal), {
        signal,
        log,
        what: 'publish the new backend data in the subnet lease',
      });
      const after = subnetOf(lease);
      if (after !== before) {
        this.deps.onMoved(before, after);
        return;
      }
      this.#lease = lease;
      this.#request = request;
      this.#exportExpiry();
      log.warn({ lease: describeLease(lease) }, 'subnet lease published again with the new backend data');
    } finally {
      if (!signal.aborted) this.start(signal);
    }
  }

  async #keep(signal: AbortSignal, daemonSignal: AbortSignal): Promise<void> {
    const { subnetManager, log } = this.deps;
    const before = subnetOf(this.#lease);
    try {
      await subnetManager.keepLease(this.#lease, this.#request, signal, {
        onRenewed: (lease) => {
          this.#lease = lease;
          this.deps.metrics?.leaseRenewals.inc();
          this.#exportExpiry();
          log.debug({ lease: describeLease(lease), expires: lease.expiration?.toISOString() }, 'subnet lease renewed');
        },
        onRenewFailed: () => {
          this.deps.metrics?.leaseRenewalFailures.inc();
          this.deps.metrics?.storeErrors.inc({ store: subnetManager.kind, operation: 'renew' });
        },
        onLost: (reason) => log.error({ subnet: before, reason }, 'OUR SUBNET LEASE WAS LOST; re-acquiring it'),
        onReacquired: (lease) => {
          const after = subnetOf(lease);
          if (after === before) {
            this.#lease = lease;
            this.#exportExpiry();
            log.warn({ subnet: after }, 'subnet lease re-acquired with the same subnet; pods are unaffected');
            return;
          }
          this.deps.onMoved(before, after);
        },
      });
    } catch (err) {
      if (!daemonSignal.aborted && !signal.aborted) log.error({ err: describeError(err) }, 'keeping the subnet lease stopped unexpectedly');
    }
  }
}

function subnetOf(lease: Lease): string | undefined {
  return lease.subnet ? formatIp4Net(lease.subnet) : undefined;
}
