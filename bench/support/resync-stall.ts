/**
 * Child-process part of the scale-resync scenario (run with the DaemonSet's V8 options, since the
 * longest pauses at 20,000 keys are V8's mark-compact of the heap, which those options size):
 * resyncs a reconciler over `n` keys against a kind whose listing builds fresh entries in slices
 * (what the real kinds do once HNS has answered), and prints the figures as one JSON line. Usage: node resync-stall.js <n>
 */
import { forEachInSlices } from '../../src/async/in-slices.js';
import { silentLogger } from '../../src/log.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { ResourceKind } from '../../src/reconcile/resource-kind.js';
import { benchPeer } from './bench-cluster.js';
import { measureStalls } from './stall-probe.js';

interface Route {
  readonly subnet: string;
  readonly publicIp: string;
  readonly mac: string;
}

function kindOver(actual: Map<string, Route>): ResourceKind<Route, Route> {
  return {
    name: 'bench-route',
    maxBatch: 100,
    // As the real kinds list: a fresh entry per route, built in slices.
    async listActual(signal) {
      const listed = new Map<string, Route>();
      await forEachInSlices(actual.values(), (route) => listed.set(route.subnet, { ...route }), { signal });
      return listed;
    },
    matches: (d, a) => d.subnet === a.subnet && d.publicIp === a.publicIp && d.mac === a.mac,
    toActual: (d) => d,
    async apply() {},
  };
}

const n = Number(process.argv[2]);
const routes = new Map<string, Route>();
for (let i = 0; i < n; i++) {
  const p = benchPeer(i);
  routes.set(p.subnet, { subnet: p.subnet, publicIp: p.publicIp, mac: p.vtepMac });
}
const rec = new Reconciler(kindOver(routes), { log: silentLogger() });
for (const [key, route] of routes) rec.setDesired(key, { ...route });
rec.markDesiredSynced();
await rec.resync(); // first listing and JIT warm-up
const times: number[] = [];
const stalls = await measureStalls(async () => {
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await rec.resync();
    times.push(performance.now() - t0);
  }
});
process.stdout.write(`${JSON.stringify({ ...stalls, medianMs: times.sort((a, b) => a - b)[2] })}\n`);
