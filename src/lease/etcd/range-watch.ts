import type { IEvent, IWatchResponse, WatchClient } from 'etcd3';
import { sleep } from '../../async/abortable-sleep.js';
import { Backoff } from '../../async/backoff.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';

/**
 * What a range watch yields: event batches in revision order, or `compacted` when the revision
 * to resume from is gone. After `compacted` the iteration ends; the caller relists (and starts a
 * new watch from the relist's revision), since the missed history cannot be replayed.
 */
export type RangeWatchBatch =
  | { readonly kind: 'events'; readonly events: readonly IEvent[] }
  | { readonly kind: 'compacted'; readonly compactRevision: bigint };

export interface RangeWatchOptions {
  key: Buffer;
  /** Exclusive end for a prefix watch; absent for a single key. */
  rangeEnd?: Buffer | undefined;
  /** First revision to deliver; absent: from now. */
  startRevision?: bigint | undefined;
  /** Ask etcd for the value a delete removed, so removals can carry the peer's attributes. */
  prevKv?: boolean;
  signal: AbortSignal;
  log: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

type StreamItem = { readonly response: IWatchResponse } | { readonly error: Error };

/** Buffers what a gRPC stream pushes until the generator pulls it; a consumer may be slow. */
class StreamInbox {
  private readonly items: StreamItem[] = [];
  private wake: (() => void) | undefined;

  push(item: StreamItem): void {
    this.items.push(item);
    this.wake?.();
  }

  /** The next item, or undefined once `signal` aborts. */
  async next(signal: AbortSignal): Promise<StreamItem | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      const item = this.items.shift();
      if (item) return item;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/**
 * Watches a key or prefix through etcd's raw Watch stream, resuming after a disconnect from the
 * revision after the last one delivered (back-off 100 ms doubling to 5 s, as flannel), so no
 * event is lost or delivered twice. Ends when `signal` aborts or after yielding `compacted`.
 */
export async function* watchRange(watchClient: WatchClient, options: RangeWatchOptions): AsyncGenerator<RangeWatchBatch> {
  const { signal, log } = options;
  const backoff = new Backoff({ baseMs: options.initialBackoffMs ?? 100, maxMs: options.maxBackoffMs ?? 5_000, jitter: 0 });
  let next = options.startRevision;

  while (!signal.aborted) {
    const inbox = new StreamInbox();
    let stream: Awaited<ReturnType<WatchClient['watch']>>;
    try {
      stream = await watchClient.watch();
    } catch (err) {
      const retryInMs = backoff.next();
      log.warn({ err: describeError(err), resumeRevision: next?.toString(), retryInMs }, 'etcd watch: cannot open stream; retrying');
      await sleep(retryInMs, signal);
      continue;
    }
    stream.on('data', (response) => inbox.push({ response }));
    stream.on('error', (error) => inbox.push({ error }));
    stream.on('end', () => inbox.push({ error: new Error('etcd watch stream ended') }));
    stream.write({
      create_request: {
        key: options.key,
        ...(options.rangeEnd ? { range_end: options.rangeEnd } : {}),
        ...(next !== undefined ? { start_revision: next.toString() } : {}),
        ...(options.prevKv ? { prev_kv: true } : {}),
      },
    });
    let retryInMs = 0;
    try {
      for (;;) {
        const item = await inbox.next(signal);
        if (item === undefined) return;
        if ('error' in item) {
          retryInMs = backoff.next();
          log.warn({ err: describeError(item.error), resumeRevision: next?.toString(), retryInMs }, 'etcd watch disconnected; resuming');
          break;
        }
        const response = item.response;
        if (response.compact_revision !== undefined && response.compact_revision !== '0') {
          yield { kind: 'compacted', compactRevision: BigInt(response.compact_revision) };
          return;
        }
        if (response.canceled) {
          retryInMs = backoff.next();
          log.warn({ reason: response.cancel_reason, resumeRevision: next?.toString(), retryInMs }, 'etcd watch canceled by the server; resuming');
          break;
        }
        backoff.reset();
        const last = response.events.at(-1);
        if (last) {
          // Resume after the last delivered event, not after header.revision: etcd sends a large
          // backlog in batches, each stamped with the current revision.
          next = BigInt(last.kv.mod_revision) + 1n;
          yield { kind: 'events', events: response.events };
        } else if (next === undefined || !response.created) {
          // The creation ack of a watch "from now", or a progress notice: nothing before
          // header.revision is still owed to us.
          const headerNext = BigInt(response.header.revision) + 1n;
          if (next === undefined || headerNext > next) next = headerNext;
        }
      }
    } finally {
      stream.cancel();
    }
    await sleep(retryInMs, signal);
  }
}
