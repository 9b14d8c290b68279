import type { LeaseWatchResult } from '../types.js';

/**
 * Hands watch results from the (callback-driven) node watch to an async iterator, coalescing
 * while the consumer is busy: a snapshot replaces everything still pending, since it is the
 * complete state and the consumer diffs it against what it knows; consecutive event batches
 * are merged in order. Memory therefore stays bounded by the cluster, not by the backlog.
 */
export class LeaseResultQueue {
  #pending: LeaseWatchResult[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  push(result: LeaseWatchResult): void {
    if (this.#closed) return;
    if (result.kind === 'snapshot') {
      this.#pending = [result];
    } else {
      if (result.events.length === 0) return;
      const last = this.#pending.at(-1);
      if (last?.kind === 'events') {
        this.#pending[this.#pending.length - 1] = { kind: 'events', events: [...last.events, ...result.events] };
      } else {
        this.#pending.push(result);
      }
    }
    this.#notify();
  }

  /**
   * Ends the iteration once what is pending has been taken; with `discardPending` (the watch
   * was cancelled) at once, since nobody wants stale results after a cancel.
   */
  close(options: { discardPending?: boolean } = {}): void {
    this.#closed = true;
    if (options.discardPending) this.#pending = [];
    this.#notify();
  }

  async *results(): AsyncGenerator<LeaseWatchResult> {
    for (;;) {
      const next = this.#pending.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
