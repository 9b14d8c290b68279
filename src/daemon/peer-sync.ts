import { sleep } from '../async/abortable-sleep.js';
import { Backoff } from '../async/backoff.js';
import { describeError, isAbortError } from '../errors.js';
import { LeaseWatcher, type PeerChange } from '../lease/lease-watcher.js';
import type { Lease, SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { PeerDesiredState, type DesiredSink } from './peer-desired-state.js';
import type { PeerDecision } from '../backends/backend.js';
import type { PeerLeaseRules } from '../lease/peer-lease-validation.js';

/** What the peer sync needs from the reconciler. */
export interface PeerReconciler<D> extends DesiredSink<D> {
  markDesiredSynced(): void;
  whenListed(signal?: AbortSignal): Promise<void>;
  stats(): { queued: number; inFlight: number; pendingRetries: number };
}

export interface PeerSyncHooks {
  /** The first snapshot is applied and the reconciler went idle once: the dataplane matches the store. */
  onFirstConverged?(): void;
  onChanges?(changes: readonly PeerChange[]): void;
}

/**
 * Feeds the subnet manager's lease stream into the reconciler's desired state.
 *
 * Start-up order matters for a zero-write restart: the reconciler lists what the host already
 * holds before it queues anything (its start does that), the first snapshot sets the desired
 * state, so only real differences are queued, and only then is the desired state declared
 * complete, which lets the reconciler remove routes for peers that vanished while the daemon
 * was down. Convergence is judged only once the reconciler has listed the host (its start
 * retries that listing until HNS answers), and that wait runs beside the lease stream: a failed
 * HNS read is the reconciler's to retry, never a reason to restart the stream or to skip the
 * first convergence.
 */
export class PeerSync<D> {
  private readonly watcher: LeaseWatcher;
  private readonly desired: PeerDesiredState<D>;
  private firstSnapshotDone = false;

  constructor(
    private readonly deps: {
      subnetManager: SubnetManager;
      ownLease: Lease;
      decide: (lease: Lease) => PeerDecision<D>;
      /** What a peer lease is checked against before the backend sees it. */
      rules: PeerLeaseRules;
      reconciler: PeerReconciler<D>;
      log: Logger;
      hooks?: PeerSyncHooks;
      /** Back-off after the lease stream fails (it should resume by itself; this is the safety net). */
      restartDelayMs?: number;
    },
  ) {
    this.watcher = new LeaseWatcher(deps.ownLease);
    this.desired = new PeerDesiredState({ decide: deps.decide, rules: deps.rules, sink: deps.reconciler, log: deps.log });
  }

  get peerCount(): number {
    return this.watcher.size;
  }

  unusablePeers() {
    return this.desired.unusable();
  }

  /** The own lease moved (lost and re-acquired elsewhere). */
  setOwnLease(lease: Lease, rules: PeerLeaseRules): void {
    this.desired.setRules(rules);
    this.apply(this.watcher.setOwnLease(lease));
  }

  /**
   * Decides every known peer again: what the backend wants for a peer depends on the network
   * (host-gw routes carry the interface index, which a recreated network changes).
   */
  redecideAll(): void {
    // Not counted as lease events: nothing changed in the store.
    this.desired.apply([...this.watcher.peers()].map((lease) => ({ type: 'changed' as const, lease, previous: lease })));
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { reconciler, log } = this.deps;
    const backoff = new Backoff({ baseMs: this.deps.restartDelayMs ?? 1000, maxMs: 30_000, jitter: 0 });
    while (!signal.aborted) {
      let retryInMs: number | undefined;
      try {
        for await (const result of this.deps.subnetManager.watchLeases(signal)) {
          this.apply(this.watcher.apply(result));
          backoff.reset();
          if (!this.firstSnapshotDone && result.kind === 'snapshot') {
            this.firstSnapshotDone = true;
            reconciler.markDesiredSynced();
            log.info({ peers: this.watcher.size }, 'first lease snapshot applied; waiting for the dataplane to converge');
            void this.convergeFirst(signal);
          }
        }
      } catch (err) {
        if (signal.aborted || isAbortError(err)) return;
        retryInMs = backoff.next();
        log.error({ err: describeError(err), retryInMs }, 'lease watch failed; restarting it');
      }
      if (signal.aborted) return;
      await sleep(retryInMs ?? backoff.next(), signal).catch(() => undefined);
    }
  }

  /**
   * Resolves once every queued key has been tried: nothing queued, nothing in flight, with the
   * number of keys waiting for a retry. Those do not hold readiness back, so one record HNS
   * rejects cannot keep the node unready; they are reported instead.
   */
  async settled(signal: AbortSignal): Promise<number> {
    for (;;) {
      const stats = this.deps.reconciler.stats();
      if ((stats.queued === 0 && stats.inFlight === 0) || signal.aborted) return stats.pendingRetries;
      await sleep(10, signal).catch(() => undefined);
    }
  }

  /**
   * After the first snapshot: waits for the reconciler's listing (retried by the reconciler for
   * as long as it fails) and for the first apply of every queued key, then reports convergence.
   */
  private async convergeFirst(signal: AbortSignal): Promise<void> {
    const { reconciler, log } = this.deps;
    try {
      await reconciler.whenListed(signal);
      const failing = await this.settled(signal);
      if (signal.aborted) return;
      if (failing > 0) log.warn({ failing }, 'first apply finished with entries still failing; they are retried with back-off');
      this.deps.hooks?.onFirstConverged?.();
    } catch (err) {
      if (!signal.aborted) log.error({ err: describeError(err) }, 'reporting the first convergence failed');
    }
  }

  private apply(changes: readonly PeerChange[]): void {
    if (changes.length === 0) return;
    this.desired.apply(changes);
    this.deps.hooks?.onChanges?.(changes);
  }
}
