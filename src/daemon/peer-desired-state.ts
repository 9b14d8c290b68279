import type { PeerDecision } from '../backends/backend.js';
import type { PeerChange } from '../lease/lease-watcher.js';
import { describeLease } from '../lease/lease-identity.js';
import type { Lease } from '../lease/types.js';
import type { Logger } from '../log.js';

export interface DesiredSink<D> {
  setDesired(key: string, desired: D | undefined): void;
}

export interface UnusablePeer {
  code: string;
  reason: string;
  lease: string;
}

/**
 * Turns peer lease changes into desired per-peer specs for the reconciler. A peer the backend
 * cannot use is warned about once (per peer and problem, not per event or resync), counted, and
 * has nothing programmed; if it had a route before, that route is removed.
 */
export class PeerDesiredState<D> {
  private readonly unusablePeers = new Map<string, UnusablePeer>();

  constructor(
    private readonly decide: (lease: Lease) => PeerDecision<D>,
    private readonly sink: DesiredSink<D>,
    private readonly log: Logger,
  ) {}

  apply(changes: readonly PeerChange[]): void {
    for (const change of changes) {
      if (change.type === 'removed') {
        const decision = this.decide(change.lease);
        this.unusablePeers.delete(decision.key);
        this.sink.setDesired(decision.key, undefined);
        this.log.info({ peer: describeLease(change.lease) }, 'peer lease removed');
        continue;
      }
      // A changed lease may have moved out of a key (never happens with subnet keys, but a
      // backend's key could differ): clear the old one first.
      if (change.type === 'changed') {
        const before = this.decide(change.previous);
        const after = this.decide(change.lease);
        if (before.key !== after.key) this.sink.setDesired(before.key, undefined);
      }
      this.applyDecision(change.lease, change.type);
    }
  }

  unusable(): ReadonlyMap<string, UnusablePeer> {
    return this.unusablePeers;
  }

  private applyDecision(lease: Lease, how: 'added' | 'changed'): void {
    const decision = this.decide(lease);
    const peer = describeLease(lease);
    switch (decision.kind) {
      case 'route':
        this.unusablePeers.delete(decision.key);
        this.sink.setDesired(decision.key, decision.spec);
        this.log.info({ peer }, how === 'added' ? 'peer lease added' : 'peer lease changed');
        break;
      case 'ignore':
        this.unusablePeers.delete(decision.key);
        this.sink.setDesired(decision.key, undefined);
        this.log.debug({ peer, reason: decision.reason }, 'peer lease ignored');
        break;
      case 'unusable': {
        const previous = this.unusablePeers.get(decision.key);
        this.unusablePeers.set(decision.key, { code: decision.code, reason: decision.reason, lease: peer });
        this.sink.setDesired(decision.key, undefined);
        if (!previous || previous.code !== decision.code) {
          this.log.warn({ peer, code: decision.code }, decision.reason);
        }
        break;
      }
    }
  }
}
