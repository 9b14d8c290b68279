/**
 * What the scale scenarios measure on a daemon child process: waiting for a condition while
 * noticing at once when the daemon died (a heap-out-of-memory crash is a result, not a hang),
 * its idle CPU, and its RSS growth during an operation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonProcess } from '../../test/support/daemon-process.js';
import { waitFor } from '../../test/support/wait.js';
import { processCpuMs, processRssMiB } from './proc-stats.js';

export class ChildProbe {
  #exited = false;

  constructor(
    private readonly daemon: DaemonProcess,
    private readonly label: string,
  ) {
    void daemon.exited.then(() => (this.#exited = true));
  }

  get pid(): number {
    return this.daemon.child.pid!;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** Waits for `check`; throws with the daemon's last log lines if it exits meanwhile. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
    const done = new AbortController();
    const died = this.daemon.exited.then(({ code, signal }) => {
      if (done.signal.aborted) return;
      const why = this.daemon.rawStderr.find((l) => /heap out of memory|FATAL ERROR/i.test(l)) ?? `exit ${code ?? signal}`;
      throw new Error(`the daemon died (${this.label}) during "${what}": ${why}`);
    });
    try {
      await Promise.race([waitFor(check, { timeoutMs, intervalMs: 50, what: `${this.label}: ${what}` }), died]);
    } finally {
      done.abort();
    }
  }

  /** CPU the daemon uses per second of wall time over `seconds` of idleness. */
  async idleCpuMsPerSecond(seconds: number): Promise<number> {
    const cpu0 = await processCpuMs(this.pid);
    await sleep(seconds * 1000);
    return ((await processCpuMs(this.pid)) - cpu0) / seconds;
  }

  /** Runs `operation` while sampling RSS every 10 ms; returns the largest rise over the start. */
  async rssGrowthDuring(operation: () => Promise<void>): Promise<number> {
    const before = await processRssMiB(this.pid);
    let max = before;
    const sampler = setInterval(() => {
      processRssMiB(this.pid).then((v) => (max = Math.max(max, v)), () => undefined);
    }, 10);
    try {
      await operation();
    } finally {
      clearInterval(sampler);
    }
    return max - before;
  }
}
