import test from 'ava';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';
import { SimHostFile, simDaemonArgs, isReady, startReady } from '../support/e2e-host.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';

interface Node {
  dir: string;
  host: SimHostFile;
  port: number;
  conf: string;
  ipam: string;
  vipFile: string;
  args: string[];
}

async function node(netConf = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } }): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-cni-'));
  const host = new SimHostFile(join(dir, 'host.json'));
  const port = await freePort();
  await writeFile(join(dir, 'leases.json'), JSON.stringify({ config: netConf, subnets: {} }));
  const conf = join(dir, 'net.d', '10-flannel.conflist');
  const ipam = join(dir, 'networks');
  const vipFile = join(dir, 'sourcevip', 'sourceVip.json');
  const args = [
    ...simDaemonArgs(host, dir, port),
    '--local-subnet-mgr',
    `--local-lease-file=${join(dir, 'leases.json')}`,
    `--cni-conf-file=${conf}`,
    `--cni-ipam-data-dir=${ipam}`,
    `--source-vip-file=${vipFile}`,
    '--service-cidr=10.96.0.0/12',
    '--ip-masq',
  ];
  return { dir, host, port, conf, ipam, vipFile, args };
}

async function status(port: number): Promise<{ lease: string; cni: { cniConfWritten: boolean; cniConfWrites: number; sourceVip?: { address: string; subnet: string; reservation: string } } }> {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  return (await res.json()) as never;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

// Serial: each test runs a daemon child process; four at once on a shared 2-core machine only
// slow every other end-to-end test down.

test.serial('the CNI config appears only once the network, subnet.env and the first apply exist; a restart rewrites nothing', async (t) => {
  const n = await node();
  const daemon = DaemonProcess.start(n.args);
  t.teardown(() => daemon.stop());
  // Watch from launch: whenever the config is first seen, everything it depends on must already be there.
  const seenWith = await waitFor(
    async () => {
      if (!(await exists(n.conf))) return undefined;
      const state = await n.host.state().catch(() => undefined);
      const converged = daemon.logs.some((l) => l.msg === 'dataplane converged with the lease store');
      return { network: state?.networks.some((net) => net.Name === 'flannel.4096') ?? false, subnetEnv: await exists(join(n.dir, 'subnet.env')), converged };
    },
    { timeoutMs: 30_000, intervalMs: 5, what: 'the CNI config file' },
  );
  t.deepEqual(seenWith, { network: true, subnetEnv: true, converged: true });
  // Readiness waits for the CNI config, then turns true.
  await waitFor(() => isReady(n.port), { timeoutMs: 30_000, what: 'readiness after the CNI config' });
  const order = ['subnet.env written', 'dataplane converged with the lease store', 'CNI config written; pods can be networked', 'every controller converged and the network is present; ready'].map((msg) => daemon.logs.findIndex((l) => l.msg === msg));
  t.true(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]! && order[2]! < order[3]!, `log order ${JSON.stringify(order)}`);

  const conf = JSON.parse(await readFile(n.conf, 'utf8')) as { name: string; plugins: { delegate: { type: string; ipMasq: boolean; Policies: { Value: { Type: string; Settings: Record<string, unknown> } }[] } }[] };
  t.is(conf.name, 'flannel.4096');
  t.is(conf.plugins[0]!.delegate.type, 'win-overlay');
  t.true(conf.plugins[0]!.delegate.ipMasq);
  t.deepEqual(conf.plugins[0]!.delegate.Policies.map((p) => p.Value.Type), ['OutBoundNAT', 'SDNRoute', 'ProviderAddress']);
  t.is(conf.plugins[0]!.delegate.Policies[2]!.Value.Settings['ProviderAddress'], '192.168.1.10');

  const before = await status(n.port);
  t.is(before.cni.cniConfWrites, 1);
  const confStat = await stat(n.conf);
  const vipStat = await stat(n.vipFile);
  t.is((await daemon.stop()).code, 0);

  const again = await startReady(n.args, n.port);
  t.teardown(() => again.stop());
  await again.waitForLog((l) => l.msg === 'CNI config already up to date; pods can be networked', 'the restarted daemon to check the CNI config');
  const after = await status(n.port);
  t.is(after.cni.cniConfWrites, 0, 'a restart with nothing changed writes no CNI config');
  t.true(after.cni.cniConfWritten);
  const confAfter = await stat(n.conf);
  const vipAfter = await stat(n.vipFile);
  t.deepEqual([confAfter.ino, confAfter.mtimeMs], [confStat.ino, confStat.mtimeMs], 'the CNI config file is the same file, untouched');
  t.deepEqual([vipAfter.ino, vipAfter.mtimeMs], [vipStat.ino, vipStat.mtimeMs], 'the source-VIP file is untouched');
  t.deepEqual(after.cni.sourceVip, before.cni.sourceVip, 'the source VIP is stable across the restart');
});

test.serial('overlay: the source VIP is reserved in the IPAM store under the network name, inside the node subnet, and shown in /status', async (t) => {
  const n = await node();
  // A node that re-joined: a reservation of ours left from its old subnet.
  await mkdir(join(n.ipam, 'flannel.4096'), { recursive: true });
  await writeFile(join(n.ipam, 'flannel.4096', '10.200.9.2'), 'kube-proxy\r\nsource-vip');
  const daemon = await startReady(n.args, n.port);
  t.teardown(() => daemon.stop());
  const s = await waitFor(async () => {
    const current = await status(n.port);
    return current.cni.sourceVip ? current : undefined;
  }, { what: 'the source VIP in /status' });
  const vip = s.cni.sourceVip!;
  t.true(s.lease.startsWith(vip.subnet), `lease ${s.lease} holds ${vip.subnet}`);
  const [base] = vip.subnet.split('/');
  t.is(vip.address, base!.replace(/\.0$/, '.2'), 'the first address host-local would hand out, taken before any pod can start');
  t.is(vip.reservation, join(n.ipam, 'flannel.4096', vip.address));
  t.is(await readFile(vip.reservation, 'utf8'), 'kube-proxy\r\nsource-vip');
  t.false(await exists(join(n.ipam, 'flannel.4096', '10.200.9.2')), 'the stale reservation from the old subnet is gone');
  const forKubeProxy = JSON.parse(await readFile(n.vipFile, 'utf8')) as { ips: { address: string }[] };
  t.is(forKubeProxy.ips[0]!.address, `${vip.address}/${vip.subnet.split('/')[1]}`);
});

test.serial('no subnet.env, no CNI config: pods are not networked on a node whose subnet.env cannot be written', async (t) => {
  const n = await node();
  // A file where the subnet.env directory should be: the write fails.
  await writeFile(join(n.dir, 'blocked'), 'not a directory');
  const args = n.args.map((a) => (a.startsWith('--subnet-file=') ? `--subnet-file=${join(n.dir, 'blocked', 'subnet.env')}` : a));
  const daemon = DaemonProcess.start(args);
  t.teardown(() => daemon.stop());
  await daemon.waitForLog((l) => l.msg === 'dataplane converged with the lease store', 'the dataplane to converge');
  await daemon.waitForLog((l) => l.msg === 'could not write subnet.env; the CNI plugin cannot configure pods', 'the subnet.env failure');
  t.false(await exists(n.conf));
  t.false((await status(n.port)).cni.cniConfWritten);
});

test.serial('host-gw: the win-bridge config is written and no source VIP is reserved', async (t) => {
  const n = await node({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } } as never);
  const daemon = await startReady(n.args, n.port);
  t.teardown(() => daemon.stop());
  const text = await waitFor(() => readFile(n.conf, 'utf8').catch(() => undefined), { what: 'the CNI config' });
  const conf = JSON.parse(text) as { name: string; plugins: { delegate: { type: string } }[] };
  t.deepEqual([conf.name, conf.plugins[0]!.delegate.type], ['cbr0', 'win-bridge']);
  t.is((await status(n.port)).cni.sourceVip, undefined);
  t.false(await exists(n.vipFile));
});
