import { retryWithBackoff } from '../async/retry.js';
import type { BackendNetwork, NetworkRepair } from '../backends/backend.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { isHnsObjectGone } from './controller-reconciler.js';
import type { DaemonMetrics } from './metrics.js';

export interface NetworkGuardDeps {
  network: Pick<BackendNetwork<unknown, unknown>, 'inspect' | 'repair'>;
  log: Logger;
  metrics: DaemonMetrics;
  /** After a repair: publish the lease again if asked, re-apply every controller. */
  afterRepair(repair: NetworkRepair, signal: AbortSignal): Promise<void>;
  /** The network was found lost or is back: readiness must be judged again. */
  onPresenceChanged(): void;
  /** Back-off between attempts to recreate a lost network. */
  retry?: { initialDelayMs: number; maxDelayMs: number };
}

/**
 * The network as a reconciled object. `check` reads the network and what was set up with it;
 * when the network is gone (an HNS restart drops it) it marks it absent, which makes the node
 * unready, recreates it with back-off until HNS accepts, lets the daemon re-publish the lease
 * and re-apply every controller, and marks it present again. A missing part (the HostRoute
 * policy, the host endpoint) is repaired once per check; the next check retries.
 */
export class NetworkGuard {
  #present = true;
  #running: Promise<void> | undefined;
  #again = false;
  #recreations = 0;
  #repairs = 0;
  #lastCheckAt: Date | undefined;
  #lastProblems: readonly string[] = [];
  #lastError: string | undefined;

  constructor(private readonly deps: NetworkGuardDeps) {
    deps.metrics.networkPresent.set(1);
  }

  present(): boolean {
    return this.#present;
  }

  /** Checks now, or joins the check in progress (which then runs once more). */
  check(signal: AbortSignal): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      do {
        this.#again = false;
        await this.#checkOnce(signal);
      } while (this.#again && !signal.aborted);
    })().finally(() => {
      this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  /** An HNS error from any controller: one saying the network or an endpoint is gone triggers a check. */
  report(err: unknown, signal: AbortSignal): void {
    if (signal.aborted || !isHnsObjectGone(err)) return;
    this.deps.log.warn({ err: describeError(err) }, 'HNS says an object of ours is gone; checking the network now');
    this.check(signal).catch((e: unknown) => {
      if (!signal.aborted) this.deps.log.error({ err: describeError(e) }, 'checking the HNS network failed');
    });
  }

  status(): Record<string, unknown> {
    return {
      present: this.#present,
      recreations: this.#recreations,
      repairs: this.#repairs,
      ...(this.#lastCheckAt && { lastCheckAt: this.#lastCheckAt.toISOString() }),
      ...(this.#lastProblems.length > 0 && { lastProblems: this.#lastProblems }),
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    };
  }

  async #checkOnce(signal: AbortSignal): Promise<void> {
    const { network, log, metrics } = this.deps;
    let inspection;
    try {
      inspection = await network.inspect(signal);
    } catch (err) {
      if (signal.aborted) return;
      this.#lastError = describeError(err);
      log.warn({ err: this.#lastError }, 'could not inspect the HNS network; trying again at the next resync');
      return;
    }
    this.#lastCheckAt = new Date();
    if (inspection.problems.length === 0) return;
    this.#lastProblems = inspection.problems;
    const lost = inspection.networkLost;
    if (lost) {
      log.error({ problems: inspection.problems }, 'HNS network lost; recreating it (the node is not ready until it is back)');
      this.#setPresent(false);
    } else {
      log.warn({ problems: inspection.problems }, 'HNS network objects missing or wrong; repairing them');
    }
    let repair: NetworkRepair;
    try {
      repair = await retryWithBackoff(() => network.repair(signal), {
        signal,
        log,
        what: lost ? 'recreate the HNS network' : 'repair the HNS network objects',
        backoff: { baseMs: this.deps.retry?.initialDelayMs ?? 500, maxMs: this.deps.retry?.maxDelayMs ?? 10_000 },
        // A lost network is retried until HNS takes it; a missing part waits for the next check.
        ...(lost ? {} : { maxAttempts: 1 }),
      });
    } catch (err) {
      if (signal.aborted) return;
      this.#lastError = describeError(err);
      log.warn({ err: this.#lastError }, 'repairing the HNS network objects failed; trying again at the next resync');
      return;
    }
    this.#lastError = undefined;
    if (repair.recreated) this.#recreations++;
    else this.#repairs++;
    metrics.networkRepairs.inc({ action: repair.recreated ? 'recreated' : 'objects' });
    log.warn({ repaired: repair.repaired, recreated: repair.recreated }, repair.recreated ? 'HNS network recreated; re-applying the lease and every controller' : 'HNS network objects repaired');
    await this.deps.afterRepair(repair, signal);
    if (signal.aborted) return;
    this.#lastProblems = [];
    if (lost) log.info('HNS network is back and every controller re-applied');
    this.#setPresent(true);
  }

  #setPresent(present: boolean): void {
    if (this.#present === present) return;
    this.#present = present;
    this.deps.metrics.networkPresent.set(present ? 1 : 0);
    this.deps.onPresenceChanged();
  }
}
