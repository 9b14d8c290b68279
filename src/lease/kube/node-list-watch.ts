import { sleep } from '../../async/abortable-sleep.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { WatchGoneError, WatchSilentError, type KubeNodeApi } from './kube-node-api.js';
import type { NodeView } from './node-view.js';

export interface ListWatchTimings {
  /** A watch with no data (events or bookmarks) for this long is restarted. */
  readonly watchSilenceMs: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  readonly watchTimeoutSeconds: number;
  /** Delay before retrying a failed list or watch. */
  readonly backoff: BackoffPolicy;
}

/** Receives the nodes; both calls are synchronous and must not throw (errors are logged). */
export interface NodeListWatchHandler {
  /** The complete current set: the first list, and again after a relist (410 Gone). */
  onList(nodes: readonly NodeView[]): void;
  onChange(type: 'ADDED' | 'MODIFIED' | 'DELETED', node: NodeView): void;
}

export interface NodeListWatchOptions {
  readonly api: KubeNodeApi;
  readonly fieldSelector?: string | undefined;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly random?: () => number;
}

/**
 * List, then watch from the list's resourceVersion, for as long as `signal` is not aborted,
 * supervising the stream instead of trusting it:
 * - a watch the server ends is resumed from the last resourceVersion seen (events or
 *   bookmarks), so nothing is lost or replayed;
 * - 410 Gone (expired resourceVersion) relists at once and hands over the full set again;
 * - a watch silent past the deadline is abandoned and resumed;
 * - any other failure (transport, 5xx, 403) is logged and retried with back-off; the back-off
 *   resets once data flows again.
 * Resolves when `signal` aborts; never rejects.
 */
export async function runNodeListWatch(options: NodeListWatchOptions, handler: NodeListWatchHandler): Promise<void> {
  const { api, fieldSelector, timings, log, signal } = options;
  const what = fieldSelector ? `nodes (${fieldSelector})` : 'nodes';
  let resourceVersion: string | undefined;
  let failures = 0;
  const retryLater = async (err: unknown, call: string): Promise<void> => {
    const retryInMs = backoffDelay(timings.backoff, failures++, options.random);
    log.warn({ call, object: what, err: describeError(err), retryInMs }, `Cannot ${call} ${what}; retrying`);
    await sleep(retryInMs, signal);
  };

  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        const list = await api.listNodes(fieldSelector, signal);
        resourceVersion = list.resourceVersion;
        failures = 0;
        guard(log, () => handler.onList(list.nodes));
      } catch (err) {
        if (!signal.aborted) await retryLater(err, 'list');
        continue;
      }
    }
    let received = 0;
    try {
      await api.watchNodes(
        { resourceVersion, fieldSelector, timeoutSeconds: timings.watchTimeoutSeconds, silenceMs: timings.watchSilenceMs },
        (event) => {
          received++;
          failures = 0;
          if (event.type === 'BOOKMARK') {
            resourceVersion = event.resourceVersion;
            return;
          }
          const version = event.node.metadata?.resourceVersion;
          if (version) resourceVersion = version;
          guard(log, () => handler.onChange(event.type, event.node));
        },
        signal,
      );
      // The server ended the stream (its timeout, a restart): resume where we were. A stream
      // that ended without any data waits a back-off step first so it cannot become a hot
      // loop; that is normal on a quiet cluster, hence no warning.
      if (received === 0 && !signal.aborted) {
        const retryInMs = backoffDelay(timings.backoff, failures++, options.random);
        log.debug({ object: what, resourceVersion, retryInMs }, `Watch of ${what} ended without data; resuming`);
        await sleep(retryInMs, signal);
      }
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof WatchGoneError) {
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

function guard(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // A bug in a handler must not stop the watch of every other node.
    log.error({ err: describeError(err) }, 'Node watch handler failed');
  }
}
