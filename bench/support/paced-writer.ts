/**
 * Child-process part of scale-etcd-inproc: writes new peers to etcd at a steady rate, as the
 * Linux nodes of a busy cluster would, from a process of its own so that its gRPC work and its
 * garbage collections do not share the measured daemon's event loop. Prints one JSON line:
 * each peer's subnet with the moment its put was issued and the moment etcd acknowledged it
 * (the write is committed then). Moments are `performance.timeOrigin + performance.now()`, milliseconds
 * on the wall clock, which the daemon's process reads the same way.
 * The first put goes out at `startAt` (wall-clock milliseconds), once this process has started and
 * connected, so its start-up is not inside the measured window.
 * Usage: node paced-writer.js <endpoint> <prefix> <first peer index> <per second> <seconds> <startAt>
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchCluster, benchPeer } from './bench-cluster.js';

const [endpoint, prefix, fromText, rateText, secondsText, startAtText] = process.argv.slice(2);
const from = Number(fromText);
const perSecond = Number(rateText);
const total = perSecond * Number(secondsText);
const now = (): number => performance.timeOrigin + performance.now();

// Each 10 ms tick's peers go in one etcd transaction, so etcd syncs its disk 100 times a second
// whatever the rate.
const tickMs = 10;
const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
const cluster = new BenchCluster(endpoint!, prefix!);
await cluster.client.get(`${prefix}/config`).string(); // connected before the clock starts
const untilStart = Number(startAtText) - now();
if (untilStart > 0) await sleep(untilStart);
const written: Array<[subnet: string, issuedAt: number, acknowledgedAt: number]> = [];
const writes: Promise<void>[] = [];
const start = performance.now();
for (let k = 0; k < total; k += perTick) {
  const wait = start + (k / perSecond) * 1000 - performance.now();
  if (wait > 0) await sleep(wait);
  const batch = Array.from({ length: Math.min(perTick, total - k) }, (_, i) => benchPeer(from + k + i));
  const at = now();
  writes.push(
    cluster.putPeers(batch).then(() => {
      const acknowledgedAt = now();
      for (const peer of batch) written.push([peer.subnet, at, acknowledgedAt]);
    }),
  );
}
await Promise.all(writes);
cluster.close();
process.stdout.write(`${JSON.stringify({ written })}\n`);
