import type { PeerDecision } from '../backends/backend.js';
import { boundText } from '../bounded-text.js';
import type { PeerChange } from '../lease/lease-watcher.js';
import { describeLease, leaseIdentity } from '../lease/lease-identity.js';
import { PeerSubnetClaims } from '../lease/peer-lease-claims.js';
import { checkPeerLease, type PeerLeaseProblem, type PeerLeaseRules } from '../lease/peer-lease-validation.js';
import type { Lease } from '../lease/types.js';
import type { Logger } from '../log.js';
import { formatIp4Net } from '../net/ip.js';

export interface DesiredSink<D> {
  setDesired(key: string, desired: D | undefined): void;
}

export interface UnusablePeer {
  code: string;
  reason: string;
  lease: string;
}

/** What was last decided for one peer lease (by identity), kept so nothing is decided twice. */
type PeerState<D> =
  /** Passed the edge checks and holds `subnet` (when it has one); the backend decided `decision`. */
  | { readonly kind: 'accepted'; readonly lease: Lease; readonly subnet: string | undefined; readonly decision: PeerDecision<D> }
  /** Refused at the edge; `subnet` is set when it waits for a subnet another lease holds. */
  | { readonly kind: 'refused'; readonly lease: Lease; readonly problem: PeerLeaseProblem; readonly waitsFor: string | undefined };

/**
 * Turns peer lease changes into desired per-peer specs for the reconciler.
 *
 * Each lease is first checked at the edge (checkPeerLease, then the subnet claims: the first
 * lease accepted for a subnet keeps it), and only then decided by the backend, once per event:
 * the last decision per lease is kept, so a removal or a change clears exactly the key that lease
 * was given, and a lease that was refused never clears a key it did not hold. A peer that cannot
 * be used is warned about once (per lease and problem, not per event or resync), listed in
 * `unusable()` and has nothing programmed.
 */
export class PeerDesiredState<D> {
  private readonly peers = new Map<string, PeerState<D>>();
  private readonly unusablePeers = new Map<string, UnusablePeer>();
  private readonly claims = new PeerSubnetClaims();
  private rules: PeerLeaseRules;

  constructor(
    private readonly deps: {
      decide: (lease: Lease) => PeerDecision<D>;
      rules: PeerLeaseRules;
      sink: DesiredSink<D>;
      log: Logger;
    },
  ) {
    this.rules = deps.rules;
  }

  /** The own lease was re-acquired: later events are checked against its subnet and address. */
  setRules(rules: PeerLeaseRules): void {
    this.rules = rules;
  }

  apply(changes: readonly PeerChange[]): void {
    for (const change of changes) {
      const identity = change.identity ?? leaseIdentity(change.lease);
      if (change.type === 'removed') {
        if (this.withdraw(identity)) this.deps.log.info({ peer: describeLease(change.lease) }, 'peer lease removed');
      } else {
        this.evaluate(identity, change.lease, change.type);
      }
    }
  }

  /**
   * What was last decided for the lease known as `identity` (for /status; decides nothing):
   * the backend's decision when it passed the edge checks, else why it was refused.
   */
  verdict(identity: string): PeerDecision<D> | { readonly kind: 'refused'; readonly reason: string } | undefined {
    const state = this.peers.get(identity);
    if (!state) return undefined;
    return state.kind === 'accepted' ? state.decision : { kind: 'refused', reason: boundText(state.problem.reason) };
  }

  /** Peers not programmed, by lease identity, with the reason. */
  unusable(): ReadonlyMap<string, UnusablePeer> {
    return this.unusablePeers;
  }

  private evaluate(identity: string, lease: Lease, how: 'added' | 'changed' | 'took over'): void {
    const previous = this.peers.get(identity);
    const subnet = heldOnce(lease.subnet ? formatIp4Net(lease.subnet) : undefined, identity, previous?.kind === 'accepted' ? previous.subnet : previous?.waitsFor);
    let next: PeerState<D>;
    const problem = checkPeerLease(lease, this.rules);
    if (problem) {
      next = { kind: 'refused', lease, problem, waitsFor: undefined };
    } else {
      const holder = subnet === undefined ? undefined : this.claims.claim(subnet, identity);
      const held = holder === undefined ? undefined : this.peers.get(holder);
      if (holder !== undefined && subnet !== undefined) {
        const by = held ? describeLease(held.lease) : holder;
        next = {
          kind: 'refused',
          lease,
          problem: { code: 'SUBNET_OVERLAPS_PEER', reason: `lease ${describeLease(lease)}: subnet ${subnet} is already held by lease ${by}; it is used only if that lease goes away` },
          waitsFor: subnet,
        };
      } else {
        next = { kind: 'accepted', lease, subnet, decision: this.deps.decide(lease) };
      }
    }
    this.peers.set(identity, next);

    // Give up what the previous state of this lease held and the new one does not.
    let promoted: string | undefined;
    if (previous?.kind === 'accepted') {
      const keepsKey = next.kind === 'accepted' && next.decision.key === previous.decision.key;
      if (!keepsKey) this.deps.sink.setDesired(previous.decision.key, undefined);
      const keepsSubnet = next.kind === 'accepted' && next.subnet === previous.subnet;
      if (previous.subnet !== undefined && !keepsSubnet) promoted = this.claims.release(previous.subnet, identity);
    } else if (previous?.kind === 'refused' && previous.waitsFor !== undefined) {
      if (!(next.kind === 'refused' && next.waitsFor === previous.waitsFor)) this.claims.release(previous.waitsFor, identity);
    }

    if (next.kind === 'refused') this.markUnusable(identity, lease, next.problem);
    else this.applyDecision(identity, lease, next.decision, how);
    if (promoted !== undefined) this.promote(promoted);
  }

  /** Forgets a lease; returns false when it was not known. */
  private withdraw(identity: string): boolean {
    const previous = this.peers.get(identity);
    if (!previous) return false;
    this.peers.delete(identity);
    this.unusablePeers.delete(identity);
    if (previous.kind === 'accepted') {
      this.deps.sink.setDesired(previous.decision.key, undefined);
      if (previous.subnet !== undefined) {
        const promoted = this.claims.release(previous.subnet, identity);
        if (promoted !== undefined) this.promote(promoted);
      }
    } else if (previous.waitsFor !== undefined) {
      this.claims.release(previous.waitsFor, identity);
    }
    return true;
  }

  /** A lease that waited for a subnet: its holder went away, so it is evaluated again. */
  private promote(identity: string): void {
    const waiting = this.peers.get(identity);
    if (waiting) this.evaluate(identity, waiting.lease, 'took over');
  }

  private markUnusable(identity: string, lease: Lease, problem: { code: string; reason: string }): void {
    const peer = describeLease(lease);
    const reason = boundText(problem.reason);
    const previous = this.unusablePeers.get(identity);
    this.unusablePeers.set(identity, { code: problem.code, reason, lease: peer });
    if (!previous || previous.code !== problem.code) this.deps.log.warn({ peer, code: problem.code }, reason);
  }

  private applyDecision(identity: string, lease: Lease, decision: PeerDecision<D>, how: 'added' | 'changed' | 'took over'): void {
    switch (decision.kind) {
      case 'route':
        this.unusablePeers.delete(identity);
        this.deps.sink.setDesired(decision.key, decision.spec);
        this.deps.log.info({ peer: describeLease(lease) }, how === 'added' ? 'peer lease added' : how === 'changed' ? 'peer lease changed' : 'peer lease took over a subnet whose holder went away');
        break;
      case 'ignore':
        this.unusablePeers.delete(identity);
        this.deps.sink.setDesired(decision.key, undefined);
        this.deps.log.debug({ peer: describeLease(lease), reason: boundText(decision.reason) }, 'peer lease ignored');
        break;
      case 'unusable':
        this.deps.sink.setDesired(decision.key, undefined);
        this.markUnusable(identity, lease, decision);
        break;
    }
  }
}

/**
 * `text`, or an equal string already held for the same peer (its identity in etcd mode, where
 * the lease is known by its subnet; the subnet of its previous state): at 20,000 peers each
 * extra copy of a subnet's text is ~0.8 MB the collector marks and moves.
 */
function heldOnce(text: string | undefined, ...held: (string | undefined)[]): string | undefined {
  for (const candidate of held) if (candidate === text) return candidate;
  return text;
}
