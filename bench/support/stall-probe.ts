/**
 * The longest time the event loop was kept from running a timer, measured two ways: wall time
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution), and CPU time of the main thread between
 * two turns of a 1 ms timer probe. On a machine shared with other busy processes the wall figure
 * also counts the time the OS gave the CPU to someone else; the CPU figure is the daemon's own.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface StallFigures {
  /** Longest event-loop delay in wall milliseconds. */
  wallMs: number;
  /** Most main-thread CPU milliseconds spent between two turns of the probe. */
  cpuMs: number;
}

function threadCpuMs(): number {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Measures while `during` runs. */
export async function measureStalls(during: () => Promise<void>): Promise<StallFigures> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let stopped = false;
  let last = threadCpuMs();
  let cpuMs = 0;
  const tick = (): void => {
    const now = threadCpuMs();
    cpuMs = Math.max(cpuMs, now - last);
    last = now;
    if (!stopped) setTimeout(tick, 1);
  };
  histogram.enable();
  setTimeout(tick, 1);
  try {
    await during();
  } finally {
    stopped = true;
    histogram.disable();
  }
  return { wallMs: histogram.max / 1e6, cpuMs };
}
