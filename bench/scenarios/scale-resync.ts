/**
 * The reconciler's own share of a resync stall at 5,000 and 20,000 keys, in a child process
 * with the DaemonSet's V8 options: resyncs against a kind whose listing builds a fresh entry per key in slices, as the real kinds
 * do with what HNS answered, so what is measured is that listing and the comparison of desired
 * and actual state, both yielding to the event loop in slices, plus the garbage collection they
 * cause. HNS's own answer (on Windows one HCN query and its JSON) comes on top;
 * scale-etcd-inproc measures the daemon and the simulator together.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Report } from '../run.js';
import { shippedNodeFlags } from '../support/shipped-node-flags.js';

const SCRIPT = fileURLToPath(new URL('../support/resync-stall.js', import.meta.url));

export default async function run(report: Report): Promise<void> {
  const nodeFlags = await shippedNodeFlags();
  const nodeOptions = nodeFlags.join(' ');
  for (const n of [5000, 20000]) {
    const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, SCRIPT, String(n)]);
    const figures = JSON.parse(stdout) as { cpuMs: number; wallMs: number; medianMs: number };
    report(`reconciler_resync_longest_stall_cpu.${n}`, figures.cpuMs, 'ms', `< 10 (${nodeOptions})`);
    report(`reconciler_resync_longest_stall_wall.${n}`, figures.wallMs, 'ms', 'incl. other processes\' time on this machine');
    report(`reconciler_resync_duration_median.${n}`, figures.medianMs, 'ms');
  }
}
