import { sleep } from '../async/abortable-sleep.js';
import { describeError } from '../errors.js';
import { Backoff, type BackoffPolicy } from '../async/backoff.js';
import type { Logger } from '../log.js';
import { GoneError, KubeApiError, WatchSilentError } from './errors.js';
import type { KubeHttpClient } from './kube-http-client.js';
import { DEFAULT_PAGE_SIZE, listPages } from './paged-list.js';

export interface ListWatchTimings {
  /** A watch with no data (events or bookmarks) for this long is restarted. */
  readonly watchSilenceMs: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  readonly watchTimeoutSeconds: number;
  /** Delay before retrying a failed list or watch. */
  readonly backoff: BackoffPolicy;
}

/** A watch event's type, as the API server sends it. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Receives one kind's objects as raw JSON (read them with the kind's own reader, the same for
 * listed and watched objects). Calls are synchronous; a throw is logged and does not stop the
 * watch. A list (the first, and every relist after 410 Gone) is `listStart`, one `listPage` per
 * few items of each page as it arrives (ITEMS_PER_BATCH), then `listEnd`: every object not
 * listed since `listStart` is gone. A list that fails half-way is started again with a new
 * `listStart`.
 */
export interface ListWatchHandler {
  listStart(): void;
  listPage(items: readonly unknown[]): void;
  listEnd(): void;
  event(type: WatchEventType, object: unknown): void;
}

/** One kind, e.g. `{ path: '/api/v1/pods', what: 'pods' }`. */
export interface WatchedResource {
  readonly path: string;
  readonly what: string;
  readonly fieldSelector?: string | undefined;
}

export interface ListWatchOptions {
  readonly client: KubeHttpClient;
  readonly resource: WatchedResource;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** @default DEFAULT_PAGE_SIZE */
  readonly pageSize?: number | undefined;
  readonly random?: () => number;
}

/**
 * List (in pages), then watch from the list's resourceVersion, for as long as `signal` is not
 * aborted, supervising the stream instead of trusting it:
 * - a watch the server ends is resumed from the last resourceVersion seen (events or
 *   bookmarks), so nothing is lost or replayed;
 * - 410 Gone (expired resourceVersion, or an expired continue token half-way through a list)
 *   lists again, and the handler diffs the new list against what it holds;
 * - a watch silent past the deadline is abandoned and resumed;
 * - any other failure (transport, 5xx, 403) is logged and retried with back-off; the back-off
 *   resets once data flows again.
 * Resolves when `signal` aborts; never rejects.
 */
export async function runListWatch(options: ListWatchOptions, handler: ListWatchHandler): Promise<void> {
  const { client, resource, timings, log, signal } = options;
  const what = resource.fieldSelector ? `${resource.what} (${resource.fieldSelector})` : resource.what;
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      // A bug in a handler must not stop the watch of every other object.
      log.error({ object: what, err: describeError(err) }, `Watch handler for ${what} failed`);
    }
  };
  let resourceVersion: string | undefined;
  const backoff = new Backoff(timings.backoff, options.random);
  const retryLater = async (err: unknown, call: string): Promise<void> => {
    const retryInMs = backoff.next();
    log.warn({ call, object: what, err: describeError(err), retryInMs }, `Cannot ${call} ${what}; retrying`);
    await sleep(retryInMs, signal);
  };

  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        guard(() => handler.listStart());
        let listed: string | undefined;
        const request = { path: resource.path, what, fieldSelector: resource.fieldSelector, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE };
        for await (const page of listPages(client, request, signal)) {
          guard(() => handler.listPage(page.items));
          listed = page.resourceVersion;
        }
        guard(() => handler.listEnd());
        resourceVersion = listed;
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError) log.info({ object: what }, `Listing ${what} took longer than the server keeps its continue token; listing again`);
        await retryLater(err, 'list');
        continue;
      }
    }
    let received = 0;
    let streamError: KubeApiError | undefined;
    // An ERROR event ends the stream at once (the server closes it after one anyway).
    const stop = new AbortController();
    try {
      const query = { watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: timings.watchTimeoutSeconds, fieldSelector: resource.fieldSelector };
      await client.stream(
        resource.path,
        query,
        timings.watchSilenceMs,
        (line) => {
          if (streamError) return;
          received++;
          backoff.reset();
          const event = parseWatchLine(line);
          if (event === undefined) {
            log.warn({ object: what, line: line.slice(0, 200) }, `Ignoring a malformed line in the watch of ${what}`);
            return;
          }
          if (event.type === 'ERROR') {
            // The server reports an expired resourceVersion inside a 200 stream, then closes it.
            const status = (event.object ?? {}) as { code?: unknown; message?: unknown };
            const cause = Object.assign(new Error(typeof status.message === 'string' ? status.message : 'watch error'), { statusCode: status.code });
            streamError = status.code === 410 ? new GoneError('watch', what, cause) : new KubeApiError('watch', what, cause);
            stop.abort(streamError);
            return;
          }
          const version = resourceVersionOf(event.object);
          if (event.type === 'BOOKMARK') {
            if (version) resourceVersion = version;
            return;
          }
          if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
          if (version) resourceVersion = version;
          guard(() => handler.event(event.type as WatchEventType, event.object));
        },
        { call: 'watch', object: what },
        AbortSignal.any([signal, stop.signal]),
      ).catch((err: unknown) => {
        if (!streamError) throw err;
      });
      if (streamError) throw streamError;
      // The server ended the stream (its timeout, a restart): resume where we were. A stream
      // that ended without any data waits a back-off step first so it cannot become a hot
      // loop; that is normal on a quiet cluster, hence no warning.
      if (received === 0 && !signal.aborted) {
        const retryInMs = backoff.next();
        log.debug({ object: what, resourceVersion, retryInMs }, `Watch of ${what} ended without data; resuming`);
        await sleep(retryInMs, signal);
      }
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof GoneError) {
        log.info({ object: what, resourceVersion }, `Watch of ${what} expired (410 Gone); listing again`);
        resourceVersion = undefined;
      } else if (err instanceof WatchSilentError) {
        log.warn({ object: what, resourceVersion, silenceMs: timings.watchSilenceMs }, `Watch of ${what} went silent; restarting it`);
      } else {
        await retryLater(err, 'watch');
      }
    }
  }
}

function parseWatchLine(line: string): { type: string; object: unknown } | undefined {
  try {
    const parsed = JSON.parse(line) as { type?: unknown; object?: unknown };
    return typeof parsed.type === 'string' ? { type: parsed.type, object: parsed.object } : undefined;
  } catch {
    return undefined;
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const version = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof version === 'string' && version !== '' ? version : undefined;
}
