import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';
import { waitFor } from '../support/wait.js';

async function startLocal(extra: readonly string[]): Promise<DaemonProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-log-format-'));
  const run = DaemonProcess.start([
    '--local-subnet-mgr', `--local-lease-file=${join(dir, 'leases.json')}`, '--dataplane=sim', `--sim-state=${join(dir, 'host.json')}`,
    `--subnet-file=${join(dir, 'subnet.env')}`, '--public-ip=192.168.1.10', ...extra,
  ]);
  return run;
}

test('JSON logs carry level names and ISO 8601 times', async (t) => {
  const run = await startLocal([]);
  t.teardown(() => run.stop());
  await run.waitForLog((l) => /dataplane converged/.test(l.msg), 'convergence', 60_000);
  t.is((await run.stop()).code, 0);
  const raw = run.rawStderr.map((line) => JSON.parse(line) as { level: unknown; time: unknown; msg: string });
  t.true(raw.length > 5);
  for (const line of raw) {
    t.true(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(line.level as string), `level name in ${JSON.stringify(line)}`);
    t.regex(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  t.is(raw[0]?.msg, 'flannel-win starting');
  t.is(raw[0]?.level, 'info');
});

test('--log-format text writes one readable line per event', async (t) => {
  const run = await startLocal(['--log-format=text']);
  t.teardown(() => run.stop());
  await waitFor(() => run.rawStderr.some((l) => /INFO: dataplane converged/.test(l)), { timeoutMs: 60_000, what: 'convergence in text' });
  t.is((await run.stop()).code, 0);
  t.regex(run.rawStderr[0] ?? '', /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO: flannel-win starting \{.*"version":"\d+\.\d+\.\d+"/);
  t.truthy(run.rawStderr.find((l) => /^\[.*\] INFO: subnet\.env written \{.*"mtu":1450/.test(l)));
  t.deepEqual(run.logs, [], 'no JSON lines');
  t.true(run.rawStderr.every((l) => l.startsWith('[')), 'every event on one line');
});
