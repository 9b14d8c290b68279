/**
 * Keys waiting for a deadline: a binary min-heap on `readyAt` plus a map from key to its heap
 * entry, so that a key is held at most once and re-scheduling it is O(log n).
 * @module
 */

interface Entry {
  readonly key: string;
  readyAt: number;
  /** Tie-break: equal deadlines come out in the order they were first scheduled (fairness). */
  readonly seq: number;
  index: number;
}

export class DelayHeap {
  readonly #heap: Entry[] = [];
  readonly #byKey = new Map<string, Entry>();
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  readyAt(key: string): number | undefined {
    return this.#byKey.get(key)?.readyAt;
  }

  /** Earliest deadline, or undefined when empty. */
  peekReadyAt(): number | undefined {
    return this.#heap[0]?.readyAt;
  }

  /**
   * Schedules `key` at `readyAt`. A key already waiting only ever moves earlier: a second, later
   * deadline (say a retry computed after a newer failure) must not postpone work already due.
   * Returns true when the heap changed.
   */
  schedule(key: string, readyAt: number): boolean {
    const existing = this.#byKey.get(key);
    if (existing) {
      if (readyAt >= existing.readyAt) return false;
      existing.readyAt = readyAt;
      this.#up(existing.index);
      return true;
    }
    const entry: Entry = { key, readyAt, seq: this.#seq++, index: this.#heap.length };
    this.#heap.push(entry);
    this.#byKey.set(key, entry);
    this.#up(entry.index);
    return true;
  }

  /** Removes and returns every key whose deadline is <= now, earliest first. */
  popDue(now: number): string[] {
    const due: string[] = [];
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.readyAt > now) return due;
      this.#removeAt(0);
      due.push(top.key);
    }
  }

  clear(): void {
    this.#heap.length = 0;
    this.#byKey.clear();
  }

  #removeAt(index: number): void {
    const entry = this.#heap[index]!;
    const last = this.#heap.pop()!;
    this.#byKey.delete(entry.key);
    if (last !== entry) {
      last.index = index;
      this.#heap[index] = last;
      this.#down(index);
      this.#up(index);
    }
  }

  #less(a: number, b: number): boolean {
    const ea = this.#heap[a]!;
    const eb = this.#heap[b]!;
    return ea.readyAt < eb.readyAt || (ea.readyAt === eb.readyAt && ea.seq < eb.seq);
  }

  #swap(a: number, b: number): void {
    const ea = this.#heap[a]!;
    const eb = this.#heap[b]!;
    this.#heap[a] = eb;
    this.#heap[b] = ea;
    eb.index = a;
    ea.index = b;
  }

  #up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.#heap.length && this.#less(left, smallest)) smallest = left;
      if (right < this.#heap.length && this.#less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
