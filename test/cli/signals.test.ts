import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';

/** A TCP listener that accepts connections and never answers: an etcd that hangs. */
async function silentServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('SIGTERM while start-up waits on an etcd that never answers: exit 0 with a clear log line', async (t) => {
  const etcd = await silentServer();
  t.teardown(() => etcd.close());
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-sigterm-'));
  const run = DaemonProcess.start([`--etcd-endpoints=${etcd.endpoint}`, '--dataplane=sim', '--sim-with-real-store', `--sim-state=${join(dir, 'host.json')}`, `--subnet-file=${join(dir, 'subnet.env')}`]);
  t.teardown(() => run.stop());
  // The etcd subnet manager exists: start-up is now blocked in a request to the silent host.
  await run.waitForLog((l) => l.msg === 'subnet manager: etcd', 'the etcd subnet manager to be created', 60_000);

  const { code, signal } = await run.stop();
  t.is(signal, null);
  t.is(code, 0);
  t.truthy(run.logs.find((l) => l.msg.startsWith('signal received') && l['signal'] === 'SIGTERM'));
  // The request ignores the signal, so the shutdown deadline ends it, saying so.
  t.truthy(run.logs.find((l) => l.level === 40 && /shutdown did not finish within the deadline after the signal; exiting 0 now/.test(l.msg)));
  t.false(run.logs.some((l) => l.level >= 50), 'no error or fatal line: a requested stop is not a failure');
});

test('SIGTERM while start-up waits for an unreadable net-conf.json: exit 0 at once, not "failed to start"', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-sigterm-'));
  const run = DaemonProcess.start(
    ['--kube-subnet-mgr', '--kube-api-url=https://127.0.0.1:1', `--net-config-path=${join(dir, 'absent.json')}`, '--net-config-grace-period=600', '--dataplane=sim', '--sim-with-real-store', `--sim-state=${join(dir, 'host.json')}`, `--subnet-file=${join(dir, 'subnet.env')}`],
    { NODE_NAME: 'win-1' },
  );
  t.teardown(() => run.stop());
  await run.waitForLog((l) => l.msg.startsWith('cannot read net-conf.json yet'), 'start-up to wait for net-conf.json', 60_000);

  const { code } = await run.stop();
  t.is(code, 0);
  const stopped = run.logs.find((l) => l.msg === 'stopped by the signal during start-up; exiting 0');
  t.truthy(stopped);
  t.is(stopped?.['signal'], 'SIGTERM');
  t.false(run.logs.some((l) => l.level >= 50 || /failed to start/.test(l.msg)));
});

test('SIGTERM during a normal run still exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-sigterm-'));
  const leases = join(dir, 'leases.json');
  await writeFile(leases, JSON.stringify({ config: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } }, subnets: {} }));
  const run = DaemonProcess.start(['--local-subnet-mgr', `--local-lease-file=${leases}`, '--dataplane=sim', `--sim-state=${join(dir, 'host.json')}`, `--subnet-file=${join(dir, 'subnet.env')}`, '--public-ip=192.168.1.10']);
  t.teardown(() => run.stop());
  await run.waitForLog((l) => /dataplane converged/.test(l.msg), 'the daemon to converge', 60_000);
  const { code } = await run.stop();
  t.is(code, 0);
  t.truthy(run.logs.find((l) => l.msg === 'flannel-win stopped'));
});
