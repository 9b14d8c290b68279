/**
 * Which peer lease holds which subnet. Two leases may claim the same subnet (two nodes given the
 * same podCIDR, a stale key beside a fresh one): the first one accepted keeps it and a later
 * claimant never displaces it. The later one waits; when the holder goes away, the earliest
 * waiting claimant takes over, since it is then the only lease the store holds for that subnet.
 *
 * Only leases that passed checkPeerLease get here, so every claimed subnet is masked and of the
 * one node-subnet length: two claims overlap exactly when their subnets are equal, and a lookup
 * by subnet text is the whole overlap check (constant work per event at any cluster size).
 * @module
 */
export class PeerSubnetClaims {
  /** subnet → identity of the lease holding it. */
  readonly #holders = new Map<string, string>();
  /** subnet → identities waiting for it, earliest first (a Set keeps insertion order). */
  readonly #waiting = new Map<string, Set<string>>();

  /** The holder of `subnet`, if any. */
  holder(subnet: string): string | undefined {
    return this.#holders.get(subnet);
  }

  /**
   * `identity` claims `subnet`. Returns undefined when it holds it (now or already), else the
   * identity of the holder it waits behind.
   */
  claim(subnet: string, identity: string): string | undefined {
    const holder = this.#holders.get(subnet);
    if (holder === undefined || holder === identity) {
      this.#holders.set(subnet, identity);
      this.#dropWaiter(subnet, identity);
      return undefined;
    }
    let waiters = this.#waiting.get(subnet);
    if (!waiters) this.#waiting.set(subnet, (waiters = new Set()));
    waiters.add(identity);
    return holder;
  }

  /**
   * `identity` gives up its claim on `subnet` (held or waiting). Returns the identity of the
   * earliest waiting claimant when the subnet became free and someone waits for it: the caller
   * re-evaluates that lease, which then claims the subnet again.
   */
  release(subnet: string, identity: string): string | undefined {
    if (this.#holders.get(subnet) !== identity) {
      this.#dropWaiter(subnet, identity);
      return undefined;
    }
    this.#holders.delete(subnet);
    const waiters = this.#waiting.get(subnet);
    if (!waiters) return undefined;
    const next = waiters.values().next();
    return next.done ? undefined : next.value;
  }

  #dropWaiter(subnet: string, identity: string): void {
    const waiters = this.#waiting.get(subnet);
    if (!waiters) return;
    waiters.delete(identity);
    if (waiters.size === 0) this.#waiting.delete(subnet);
  }
}
