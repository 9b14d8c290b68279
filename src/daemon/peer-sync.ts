import { sleep } from '../async/abortable-sleep.js';
import { Backoff } from '../async/backoff.js';
import { describeError, isAbortError } from '../errors.js';
import { LeaseWatcher, type PeerChange } from '../lease/lease-watcher.js';
import type { Lease, SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { PeerDesiredState, type DesiredSink } from './peer-desired-state.js';
import { sortPeersForStatus } from './peer-order.js';
import type { PeerDecision } from '../backends/backend.js';
import type { PeerLeaseRules } from '../lease/peer-lease-validation.js';
import type { KeyState } from '../reconcile/reconciler.js';

/** What the peer sync needs from the reconciler. */
export interface PeerReconciler<D> extends DesiredSink<D> {
  markDesiredSynced(): void;
  whenListed(signal?: AbortSignal): Promise<void>;
  stats(): { queued: number; inFlight: number; pendingRetries: number };
  keyState(key: string): KeyState | undefined;
}

/** One peer lease as `/status` shows it. */
export interface PeerState {
  /** The peer's subnet(s), as its lease key names them. */
  subnet: string;
  node?: string;
  publicIp: string;
  /** programmed / pending / failing (the reconciler's view of its key), unusable or ignored (the backend's decision). */
  state: KeyState['state'] | 'unusable' | 'ignored';
  lastError?: string;
  reason?: string;
}

/** The lease stream as `/status` shows it. */
export interface LeaseStreamState {
  /** starting: no listing yet; watching: the stream is open; restarting: it failed and waits to start again. */
  watch: 'starting' | 'watching' | 'restarting';
  lastEventAt?: string;
  restarts: number;
  lastError?: string;
}

export interface PeerSyncHooks {
  /** The first snapshot is applied and the reconciler went idle once: the dataplane matches the store. */
  onFirstConverged?(): void;
  onChanges?(changes: readonly PeerChange[]): void;
  /** The lease stream failed and is started again after a back-off. */
  onWatchRestart?(err: unknown): void;
  /** A full listing after the first (the store could not resume its watch). */
  onRelist?(): void;
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
  private stream: LeaseStreamState = { watch: 'starting', restarts: 0 };

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

  streamState(): LeaseStreamState {
    return { ...this.stream };
  }

  /** Every peer (sorted by subnet, at most `limit`) with what the dataplane holds for it. */
  peerStates(limit: number): { peers: PeerState[]; truncated: boolean } {
    const leases = sortPeersForStatus(this.watcher.peers());
    const peers = leases.slice(0, limit).map(({ lease, identity }): PeerState => {
      const base = { subnet: identity, ...(lease.nodeName ? { node: lease.nodeName } : {}), publicIp: lease.attrs.publicIp };
      // The decision already made (edge checks included), never a new one: /status must show
      // what the daemon acts on, and answering it must not cost a decision per peer.
      const decision = this.desired.verdict(identity);
      if (decision === undefined) return { ...base, state: 'pending' };
      if (decision.kind === 'unusable' || decision.kind === 'refused') return { ...base, state: 'unusable', reason: decision.reason };
      if (decision.kind === 'ignore') return { ...base, state: 'ignored', reason: decision.reason };
      const key = this.deps.reconciler.keyState(decision.key);
      return { ...base, state: key?.state ?? 'pending', ...(key?.lastError !== undefined ? { lastError: key.lastError } : {}) };
    });
    return { peers, truncated: leases.length > limit };
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
          if (result.kind === 'snapshot' && this.firstSnapshotDone) this.deps.hooks?.onRelist?.();
          this.stream = { ...this.stream, watch: 'watching', lastEventAt: new Date().toISOString() };
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
        this.stream = { ...this.stream, watch: 'restarting', restarts: this.stream.restarts + 1, lastError: describeError(err).slice(0, 300) };
        this.deps.hooks?.onWatchRestart?.(err);
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
