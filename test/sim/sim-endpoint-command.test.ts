import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { leaseValue, subnetKey, updateLeaseFile } from '../../src/lease/local/lease-file.js';
import { runSimCommand } from '../../src/cli/sim-command.js';
import { readHostFile, remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { SimHostFile, startReady } from '../support/e2e-host.js';
import { freePort } from '../support/free-port.js';
import { l2BridgeNetwork, openTestHost, overlayNetwork, readState } from './sim-fixture.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-simcmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `flannel-win sim …` in-process, collecting its output. */
async function sim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runSimCommand(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

test('endpoint add creates a local endpoint as the CNI does and prints its id; remove deletes it', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  await host.close();
  const added = await sim(['endpoint', 'add', '--sim-state', host.stateFile, '--ip', '10.244.1.5', '--name', 'web-1']);
  t.is(added.code, 0, added.stderr);
  const id = added.stdout.trim();
  const state = await readState(host.stateFile);
  const endpoint = state.endpoints.find((e) => e.ID === id);
  t.truthy(endpoint);
  t.is(endpoint?.Name, 'web-1');
  t.is(endpoint?.HostComputeNetwork, network.ID);
  t.is(endpoint?.Flags ?? 0, 0);
  t.deepEqual(endpoint?.IpConfigurations, [{ IpAddress: '10.244.1.5', PrefixLength: 24 }]);
  t.deepEqual(endpoint?.Routes, [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }]);
  t.deepEqual(endpoint?.Policies, [
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } },
    { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    { Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.10' } },
  ]);
  t.regex(endpoint?.MacAddress ?? '', /^00-15-5D-/, 'HNS assigned the MAC');
  t.is(state.counters['createEndpoint'], 1);
  const removed = await sim(['endpoint', 'remove', '--sim-state', host.stateFile, '--ip', '10.244.1.5']);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout.trim(), id);
  t.deepEqual((await readState(host.stateFile)).endpoints, []);
});

test('host-gw: the endpoint routes to the node through the bridge, and the host endpoint cannot be removed', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(l2BridgeNetwork());
  await host.hns.createEndpoint(network.ID!, { Name: 'cbr0_ep', SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '10.244.1.2' }] });
  await host.close();
  const added = await sim(['endpoint', 'add', '--sim-state', host.stateFile, '--ip', '10.244.1.3', '--cluster-cidr', '10.244.0.0/16', '--service-cidr', '10.0.0.0/16']);
  t.is(added.code, 0, added.stderr);
  const endpoint = (await readState(host.stateFile)).endpoints.find((e) => e.ID === added.stdout.trim());
  t.is(endpoint?.Name, '10.244.1.3_cbr0');
  t.deepEqual(endpoint?.Routes, [{ NextHop: '10.244.1.2', DestinationPrefix: '0.0.0.0/0' }]);
  t.deepEqual(endpoint?.Policies?.[2], { Type: 'SDNRoute', Settings: { DestinationPrefix: '192.168.1.10/32', NeedEncap: true } });
  const refused = await sim(['endpoint', 'remove', '--sim-state', host.stateFile, '--ip', '10.244.1.2']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /"cbr0_ep" is the daemon's host endpoint/);
});

test('every mistake is a clear error: usage errors exit 2, failed operations exit 1 naming what failed', async (t) => {
  const host = await openTestHost(t);
  await host.hns.createNetwork(overlayNetwork());
  await host.close();
  const file = host.stateFile;
  const cases: [string[], number, RegExp][] = [
    [[], 2, /a command is needed[\s\S]*Usage: flannel-win sim/],
    [['endpoint', 'frob'], 2, /unknown command "endpoint frob"/],
    [['endpoint', 'add', '--sim-state', file], 2, /endpoint add needs --ip/],
    [['endpoint', 'add', '--sim-state', file, '--ip', '10.244.1.5', '--bogus'], 2, /--bogus/],
    [['flows', '--sim-state', file, '-o', 'yaml'], 2, /-o must be text or json/],
    [['endpoint', 'add', '--sim-state', join(file, '..', 'missing.json'), '--ip', '10.244.1.5'], 1, /no simulated host in this file.*"file":".*missing\.json"/],
    [['endpoint', 'add', '--sim-state', file, '--ip', '10.244.9.5'], 1, /--ip 10\.244\.9\.5 is outside the network's pod subnet 10\.244\.1\.0\/24/],
    [['endpoint', 'add', '--sim-state', file, '--ip', 'ten'], 1, /--ip "ten" is not an IPv4 address/],
    [['endpoint', 'add', '--sim-state', file, '--ip', '10.244.1.5', '--network', 'cbr0'], 1, /no network named "cbr0"/],
    [['endpoint', 'remove', '--sim-state', file, '--ip', '10.244.1.77'], 1, /no local endpoint with IP 10\.244\.1\.77 on network "flannel\.4096"/],
  ];
  for (const [args, code, message] of cases) {
    const result = await sim(args);
    t.is(result.code, code, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
  }
  t.is((await sim(['endpoint', 'add', '--sim-state', file, '--ip', '10.244.1.5'])).code, 0);
  const twice = await sim(['endpoint', 'add', '--sim-state', file, '--ip', '10.244.1.5']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /IP address is in use by another endpoint.*0x803b002f/);
});

test('endpoints added and removed by hand while the daemon programs peers: nothing of either is lost', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const leases = join(dir, 'leases.json');
  const args = [
    '--local-subnet-mgr', `--local-lease-file=${leases}`, '--dataplane=sim', `--sim-state=${host.path}`, `--subnet-file=${dir}/subnet.env`,
    '--public-ip=192.168.1.10', '--healthz-ip=127.0.0.1', `--healthz-port=${port}`,
  ];
  const daemon = await startReady(args, port);
  t.teardown(() => daemon.stop().then(() => undefined));
  const network = (await host.state()).networks[0]!;
  const subnet = network.Ipams![0]!.Subnets[0]!.IpAddressPrefix!.split('/')[0]!.split('.').slice(0, 3).join('.');
  const peers = Array.from({ length: 15 }, (_, i) => ({ subnet: { ip: ((10 << 24) | (244 << 16) | ((100 + i) << 8)) >>> 0, prefixLen: 24 }, ip: `192.168.1.${100 + i}` }));
  const ids: string[] = [];
  await Promise.all([
    (async () => {
      for (const p of peers) {
        await updateLeaseFile(leases, (doc) => {
          doc.subnets[subnetKey(p.subnet)] = leaseValue({ publicIp: p.ip, publicIpv6: null, backendType: 'vxlan', backendData: JSON.stringify({ VNI: 4096, VtepMAC: '52:a1:00:00:00:01' }), backendV6Data: undefined });
        });
      }
    })(),
    (async () => {
      for (let i = 10; i < 25; i++) {
        const r = await sim(['endpoint', 'add', '--sim-state', host.path, '--ip', `${subnet}.${i}`]);
        t.is(r.code, 0, r.stderr);
        ids.push(r.stdout.trim());
      }
      for (let i = 10; i < 15; i++) t.is((await sim(['endpoint', 'remove', '--sim-state', host.path, '--ip', `${subnet}.${i}`])).code, 0);
    })(),
  ]);
  const state = await host.until((s) => remoteSubnetRoutes(s, network.Name).length === peers.length, 'every peer route programmed');
  t.deepEqual(state.endpoints.map((e) => e.ID).sort(), ids.slice(5).sort());
  t.true(state.endpoints.every((e) => e.Policies?.[0]?.Type === 'OutBoundNAT'));
  t.is((await daemon.stop()).code, 0);
  const final = await readHostFile(host.path);
  t.is(final.endpoints.length, 10, 'the daemon\'s last write kept the endpoints');
  t.is(remoteSubnetRoutes(final, network.Name).length, peers.length);
  t.like(final.counters, { createEndpoint: 15, deleteEndpoint: 5 });
});

test('flannel-win sim is dispatched from the published entry', async (t) => {
  const run = DaemonProcess.start(['sim', '--help']);
  t.is((await run.exited).code, 0);
  t.regex(run.stdout, /endpoint add +--sim-state FILE --ip IP/);
});
