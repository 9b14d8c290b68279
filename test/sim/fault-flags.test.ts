import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { HCN_E } from '../../src/hns/client.js';
import { SimFaultFlagError, simFaultsFromFlags, type SimFaultFlagText } from '../../src/sim/fault-flags.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import { readHostFile } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { waitFor } from '../support/wait.js';
import { openTestHost, overlayNetwork, rejectsWithHresult } from './sim-fixture.js';

const NONE: SimFaultFlagText = { faultRate: '0', faultOperations: '', failNext: '', faultHresult: '0x803b0020' };

test('no fault flag means no fault', (t) => {
  t.deepEqual(simFaultsFromFlags(NONE), {});
});

test('--sim-fault-rate, --sim-fault-ops, --sim-fail-next and --sim-fault-hresult become the simulated host\'s faults', (t) => {
  t.deepEqual(simFaultsFromFlags({ ...NONE, faultRate: '0.1' }), { failPercent: { percent: 10, hresult: HCN_E.MANAGER_STOPPED } });
  t.deepEqual(simFaultsFromFlags({ faultRate: '0.25', faultOperations: 'modifyNetwork, addRoute', failNext: 'createNetwork=2,listInterfaces=1,createNetwork=1', faultHresult: '0x80070005' }), {
    failPercent: { percent: 25, hresult: 0x80070005, operations: ['modifyNetwork', 'addRoute'] },
    failNextByOperation: { createNetwork: 3, listInterfaces: 1 },
    failNextHresult: 0x80070005,
  });
  t.deepEqual(simFaultsFromFlags({ ...NONE, faultRate: '1', faultHresult: '-2143616992' }), { failPercent: { percent: 100, hresult: 0x803b0020 } }, 'a negative decimal HRESULT is its unsigned form');
});

test('every bad fault flag is refused with the flag and the value named', (t) => {
  const cases: [Partial<SimFaultFlagText>, string, RegExp][] = [
    [{ faultRate: '10' }, 'sim-fault-rate', /between 0 and 1/],
    [{ faultRate: '-0.1' }, 'sim-fault-rate', /between 0 and 1/],
    [{ faultRate: 'often' }, 'sim-fault-rate', /between 0 and 1/],
    [{ faultOperations: 'createNetwork,frobnicate' }, 'sim-fault-ops', /unknown operation "frobnicate"/],
    [{ failNext: 'createNetwork' }, 'sim-fail-next', /"createNetwork" is not operation=count/],
    [{ failNext: 'createNetwork=-1' }, 'sim-fail-next', /not operation=count/],
    [{ failNext: 'hcnCreateNetwork=1' }, 'sim-fail-next', /unknown operation "hcnCreateNetwork"/],
    [{ faultHresult: '0x0' }, 'sim-fault-hresult', /top bit set/],
    [{ faultHresult: 'E_FAIL' }, 'sim-fault-hresult', /expected an HRESULT/],
  ];
  for (const [override, flag, why] of cases) {
    const err = t.throws(() => simFaultsFromFlags({ ...NONE, ...override }), { instanceOf: SimFaultFlagError });
    t.is(err?.code, 'SIM_FAULT_FLAG_INVALID');
    t.is(err?.context['flag'], flag);
    t.regex(err?.message ?? '', new RegExp(`--${flag}: .*${why.source}`));
  }
});

test('fail-next counts are per operation and leave other operations alone', async (t) => {
  const host = await openTestHost(t, { faults: simFaultsFromFlags({ ...NONE, failNext: 'createNetwork=2,listNetworks=1' }) });
  t.deepEqual(await host.routes.listInterfaces().then((i) => i.length), 1, 'an operation not named goes through');
  await rejectsWithHresult(t, host.hns.listNetworks(), HCN_E.MANAGER_STOPPED);
  await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork()), HCN_E.MANAGER_STOPPED);
  t.deepEqual(await host.hns.listNetworks(), []);
  await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork()), HCN_E.MANAGER_STOPPED);
  await host.hns.createNetwork(overlayNetwork());
  t.is(host.counters()['faults'], 3);
});

test('a fault rate limited to route operations fails route calls only, the same ones for the same seed', async (t) => {
  const run = async (): Promise<boolean[]> => {
    const host = await openTestHost(t, { random: seededRandom(11), faults: simFaultsFromFlags({ ...NONE, faultRate: '0.5', faultOperations: 'listRoutes' }) });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      await host.hns.listNetworks();
      outcomes.push(await host.routes.listRoutes('ipv4').then(() => true, () => false));
    }
    t.is(host.counters()['faults'], outcomes.filter((ok) => !ok).length, 'only route listings failed');
    return outcomes;
  };
  const first = await run();
  t.true(first.includes(true) && first.includes(false));
  t.deepEqual(await run(), first);
});

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-faults-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the daemon runs the simulated host with the faults and the seed of its flags', async (t) => {
  const dir = await tempDir(t);
  const networkIds: string[] = [];
  for (const run of ['a', 'b']) {
    const state = join(dir, `${run}.json`);
    const daemon = DaemonProcess.start([
      '--local-subnet-mgr', `--local-lease-file=${join(dir, `${run}-leases.json`)}`, '--dataplane=sim', `--sim-state=${state}`,
      `--subnet-file=${join(dir, `${run}.env`)}`, '--public-ip=192.168.1.10', '--sim-seed=7', '--sim-fail-next=createNetwork=1',
    ]);
    t.teardown(() => daemon.stop().then(() => undefined));
    // The injected failure and the network created after it both reach the state file.
    const host = await waitFor(async () => {
      const s = await readHostFile(state).catch(() => undefined);
      return s && (s.counters['faults'] ?? 0) >= 1 && s.networks.length === 1 ? s : undefined;
    }, { timeoutMs: 30_000, what: `the daemon's network after one injected createNetwork failure\n${daemon.rawStderr.slice(-20).join('\n')}` });
    t.is(host.counters['faults'], 1);
    t.true((host.counters['createNetwork'] ?? 0) >= 2, 'the failed create was retried');
    networkIds.push(host.networks[0]!.ID);
    await daemon.stop();
  }
  t.is(networkIds[0], networkIds[1], 'the same seed gives the same generated ids');
});

test('a bad fault flag stops the daemon with exit 1 naming the flag', async (t) => {
  const dir = await tempDir(t);
  const daemon = DaemonProcess.start(['--local-subnet-mgr', `--local-lease-file=${join(dir, 'l.json')}`, '--dataplane=sim', `--sim-state=${join(dir, 'h.json')}`, '--sim-fault-rate=2']);
  const { code } = await daemon.exited;
  t.is(code, 1);
  t.regex(daemon.rawStderr.join('\n'), /--sim-fault-rate/);
});
