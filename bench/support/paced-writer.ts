/**
 * Child-process part of scale-etcd-inproc: changes etcd's leases at a steady rate, as the Linux
 * nodes of a busy cluster would, from a process of its own so that its gRPC work and its
 * garbage collections do not share the measured daemon's event loop. Half the changes add a new
 * peer; the other half remove the peer added `REMOVE_AFTER_S` earlier, so the cluster keeps its
 * size (removals start once that much time has passed: the first second adds only). Prints one
 * JSON line: each added peer's subnet with the moment its put was issued and the moment etcd
 * acknowledged it (the write is committed then). Moments are `performance.timeOrigin +
 * performance.now()`, milliseconds on the wall clock, which the daemon's process reads the same
 * way. The first write goes out at `startAt` (wall-clock milliseconds), once this process has
 * started and connected, so its start-up is not inside the measured window.
 * Usage: node paced-writer.js <endpoint> <prefix> <first peer index> <changes per second> <seconds> <startAt>
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchCluster, benchPeer, peerValue, type BenchPeer } from './bench-cluster.js';
import { encodeTurnOver, RawTxnWriter } from './etcd-raw-txn.js';

const [endpoint, prefix, fromText, rateText, secondsText, startAtText] = process.argv.slice(2);
const from = Number(fromText);
const perSecond = Number(rateText);
const seconds = Number(secondsText);
const now = (): number => performance.timeOrigin + performance.now();

const REMOVE_AFTER_S = 1;
// Each tick's changes (at least one add and one removal) go in one etcd transaction: every
// 10 ms at 200 changes/s and more, so etcd syncs its disk at most 100 times a second.
const tickMs = Math.max(10, 2000 / perSecond);
const ticks = (seconds * 1000) / tickMs;
const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
const addsPerTick = Math.max(1, Math.floor(perTick / 2));
const removeAfterTicks = (REMOVE_AFTER_S * 1000) / tickMs;
const peerOf = (tick: number, i: number) => benchPeer(from + tick * addsPerTick + i);
// The etcd3 client only grants the 24 h etcd lease the peers are put under; the paced writes
// go through the lean writer (bench/support/etcd-raw-txn.ts), connected before the clock starts.
const cluster = new BenchCluster(endpoint!, prefix!);
const lease = BigInt(await cluster.client.lease(86_400, { autoKeepAlive: false }).grant());
cluster.close();
const writer = new RawTxnWriter(endpoint!);
await writer.txn(encodeTurnOver([], [`${prefix}/warm-up`], lease));
const keyOf = (peer: BenchPeer): string => `${prefix}/subnets/${peer.key}`;
const untilStart = Number(startAtText) - now();
if (untilStart > 0) await sleep(untilStart);
const written: Array<[subnet: string, issuedAt: number, acknowledgedAt: number]> = [];
const writes: Promise<void>[] = [];
const start = performance.now();
for (let tick = 0; tick < ticks; tick++) {
  const wait = start + tick * tickMs - performance.now();
  if (wait > 0) await sleep(wait);
  const added = Array.from({ length: addsPerTick }, (_, i) => peerOf(tick, i));
  const gone = tick - removeAfterTicks;
  const removed = gone >= 0 ? Array.from({ length: perTick - addsPerTick }, (_, i) => peerOf(gone, i)) : [];
  const at = now();
  writes.push(
    writer.txn(encodeTurnOver(added.map((p) => [keyOf(p), peerValue(p)] as const), removed.map(keyOf), lease)).then(() => {
      const acknowledgedAt = now();
      for (const peer of added) written.push([peer.subnet, at, acknowledgedAt]);
    }),
  );
}
await Promise.all(writes);
writer.close();
process.stdout.write(`${JSON.stringify({ written })}\n`);
