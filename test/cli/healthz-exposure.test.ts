import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackAddress } from '../../src/daemon/health-server.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { isReady } from '../support/e2e-host.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';

/** An IPv4 address of this machine that is not loopback: a client on the node's network. */
function nonLoopbackAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = (addresses ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error('this test needs a non-loopback IPv4 address on the machine');
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

async function startLocal(t: { teardown(fn: () => unknown): void }, extra: readonly string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-healthz-'));
  const port = await freePort();
  const run = DaemonProcess.start([
    '--local-subnet-mgr', `--local-lease-file=${join(dir, 'leases.json')}`, '--dataplane=sim', `--sim-state=${join(dir, 'host.json')}`,
    `--subnet-file=${join(dir, 'subnet.env')}`, '--public-ip=192.168.1.10', `--healthz-port=${port}`, ...extra,
  ]);
  t.teardown(() => run.stop());
  await waitFor(() => isReady(port), { timeoutMs: 60_000, what: 'readiness on loopback' });
  return { run, port };
}

test('isLoopbackAddress', (t) => {
  t.true(isLoopbackAddress('127.0.0.1'));
  t.true(isLoopbackAddress('127.3.4.5'));
  t.true(isLoopbackAddress('::1'));
  t.true(isLoopbackAddress('::ffff:127.0.0.1'));
  t.false(isLoopbackAddress('192.0.2.2'));
  t.false(isLoopbackAddress('::ffff:10.0.0.1'));
  t.false(isLoopbackAddress(undefined));
});

test('no --healthz-ip: probes on every interface, /status and /metrics on loopback only', async (t) => {
  const outside = nonLoopbackAddress();
  const { run, port } = await startLocal(t, []);
  t.is(await status(`http://${outside}:${port}/healthz`), 200);
  t.is(await status(`http://${outside}:${port}/readyz`), 200);
  t.is(await status(`http://${outside}:${port}/status`), 403);
  t.is(await status(`http://${outside}:${port}/metrics`), 403);
  t.is(await status(`http://${outside}:${port}/policy/flow?from=10.244.0.2&to=10.244.0.3&port=80`), 403);
  t.is(await status(`http://127.0.0.1:${port}/status`), 200);
  t.is(await status(`http://127.0.0.1:${port}/metrics`), 200);
  // No Kubernetes API here, so no policy view: the route says so; a bad query is refused first.
  const off = await fetch(`http://127.0.0.1:${port}/policy/flow?from=10.244.0.2&to=10.244.0.3&port=80`);
  t.is(off.status, 404);
  t.like(await off.json(), { code: 'POLICY_ENFORCEMENT_OFF' });
  const bad = await fetch(`http://127.0.0.1:${port}/policy/flow?from=10.244.0.2&to=10.244.0.3&port=99999`);
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as { message: string }).message, /port "99999" is not a port number/);
  t.truthy(run.logs.find((l) => l.msg === '/status, /metrics and /policy/flow answer loopback clients only (no explicit --healthz-ip)'));
});

test('an explicit --healthz-ip serves /status and /metrics to whoever reaches that address', async (t) => {
  const outside = nonLoopbackAddress();
  const { port } = await startLocal(t, ['--healthz-ip=0.0.0.0']);
  t.is(await status(`http://${outside}:${port}/status`), 200);
  t.is(await status(`http://${outside}:${port}/metrics`), 200);
});
