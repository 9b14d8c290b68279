import test from 'ava';
import { pino } from 'pino';
import { watchHeap } from '../../src/daemon/heap-watch.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;

function capture() {
  const lines: { level: number; msg: string; heapLimitMiB?: number; heapUsedMiB?: number; peers?: number; nodeFlags?: string[] }[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[number]) }) };
}

test('logs the heap limit at start, warns once above 80 %, and says when use is back down', async (t) => {
  const { lines, log } = capture();
  let used = 10 * MiB;
  const ac = new AbortController();
  const nodeFlags = ['--max-old-space-size=100', '--heap-growing-percent=50'];
  watchHeap({ log, signal: ac.signal, intervalMs: 5, peers: () => 20_000, read: () => ({ usedBytes: used, limitBytes: 100 * MiB }), nodeFlags });
  t.like(lines[0], { msg: 'V8 heap limit', heapLimitMiB: 100, heapUsedMiB: 10 });
  t.deepEqual(lines[0]?.nodeFlags, nodeFlags, 'the V8 options node was started with');
  used = 85 * MiB;
  await waitFor(() => lines.some((l) => l.level === 40), { what: 'the warning' });
  const warning = lines.find((l) => l.level === 40)!;
  t.regex(warning.msg, /above 80 % of its limit: raise --max-old-space-size/);
  t.like(warning, { heapUsedMiB: 85, heapLimitMiB: 100, peers: 20_000 });
  const count = lines.length;
  used = 50 * MiB;
  await waitFor(() => lines.some((l) => l.msg === 'V8 heap use back well below its limit'), { what: 'the all-clear' });
  t.is(lines.filter((l) => l.level === 40).length, 1, 'one warning, not one per check');
  t.true(lines.length === count + 1);
  ac.abort();
});

test('the real figures come from V8', (t) => {
  const { lines, log } = capture();
  const ac = new AbortController();
  watchHeap({ log, signal: ac.signal });
  ac.abort();
  t.true((lines[0]?.heapLimitMiB ?? 0) > 16, `limit ${lines[0]?.heapLimitMiB} MiB`);
  t.deepEqual(lines[0]?.nodeFlags, process.execArgv);
});

test('the peer count is asked for only when a line is logged, never at each check', async (t) => {
  const { log } = capture();
  let asked = 0;
  let checks = 0;
  const ac = new AbortController();
  watchHeap({ log, signal: ac.signal, intervalMs: 2, peers: () => ++asked, read: () => (checks++, { usedBytes: 10 * MiB, limitBytes: 100 * MiB }) });
  await waitFor(() => checks > 10, { what: 'ten checks' });
  ac.abort();
  t.is(asked, 0, 'counting the peers can cost a walk over all of them');
});
