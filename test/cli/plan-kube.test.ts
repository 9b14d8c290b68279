import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PlanResult } from '../../src/cli/plan-command.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { DaemonProcess, MAIN_JS } from '../support/daemon-process.js';
import { kubeSimNode, SimHostFile, startReady } from '../support/e2e-host.js';
import { KubeApiServer, type KindName } from '../support/kube-api-server.js';
import { linuxVxlanAnnotations } from '../support/kube-fixtures.js';

// plan in kube mode with NetworkPolicy: what it lists must be exactly what the daemon then
// writes (endpoint ACLs, the CNI config, subnet.env), and it must write nothing itself, neither
// to the simulated host nor to the API server.

const run = promisify(execFile);
const NODE = 'win-1';
const ENV = { NODE_NAME: NODE };

const PODS = [
  { ns: 'default', name: 'web', ip: '10.244.5.10', labels: { app: 'web' } },
  { ns: 'default', name: 'db', ip: '10.244.5.11', labels: { app: 'db' } },
  { ns: 'default', name: 'client', ip: '10.244.5.12', labels: { role: 'frontend' } },
  // No policy selects ops/tool: its endpoint gets no ACL, so no write is planned for it.
  { ns: 'ops', name: 'tool', ip: '10.244.5.13', labels: { app: 'tool' } },
];
const IP_OF = new Map(PODS.map((p) => [`${p.ns}/${p.name}`, p.ip]));

function podObject(p: (typeof PODS)[number]) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.ns, labels: p.labels },
    spec: { nodeName: NODE, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

function policy(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec };
}

const WEB_FROM_FRONTEND = policy('web-from-frontend', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
});

async function cluster(): Promise<KubeApiServer> {
  const server = await KubeApiServer.start();
  server.addNode({ name: NODE, podCIDR: '10.244.5.0/24' });
  server.addNode({ name: 'linux-1', podCIDR: '10.244.1.0/24', annotations: linuxVxlanAnnotations('192.168.1.21', '52:a1:00:00:00:01') });
  server.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  server.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } });
  for (const p of PODS) server.put('pods', podObject(p));
  server.put('networkpolicies', policy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
  server.put('networkpolicies', WEB_FROM_FRONTEND);
  return server;
}

const OBJECTS: Array<[KindName, string]> = [
  ['nodes', NODE],
  ['nodes', 'linux-1'],
  ['namespaces', 'default'],
  ['namespaces', 'ops'],
  ...PODS.map((p): [KindName, string] => ['pods', `${p.ns}/${p.name}`]),
  ['networkpolicies', 'default/default-deny-ingress'],
  ['networkpolicies', 'default/web-from-frontend'],
];

/** The API server's resourceVersion and every object's: a write anywhere moves one of them. */
function versions(server: KubeApiServer): string {
  return JSON.stringify([server.resourceVersion, ...OBJECTS.map(([kind, key]) => server.get(kind, key)?.metadata.resourceVersion)]);
}

async function plan(args: readonly string[]): Promise<{ code: number | null; result: PlanResult; stderr: string }> {
  const process = DaemonProcess.start(['plan', '-o', 'json', ...args], ENV);
  const { code } = await process.exited;
  const stderr = process.rawStderr.join('\n');
  if (code !== 0 && code !== 2) throw new Error(`plan exited ${code}: ${stderr}`);
  return { code, result: JSON.parse(process.stdout) as PlanResult, stderr };
}

/** Each pod endpoint's policies, by endpoint id (lower case, as plan keys them). */
function endpointPolicies(state: SimStateDocument): Map<string, string> {
  return new Map(state.endpoints.map((e) => [e.ID.toLowerCase(), JSON.stringify(e.Policies ?? [])]));
}

function endpointIdOf(state: SimStateDocument, ip: string): string {
  return state.endpoints.find((e) => (e.IpConfigurations ?? []).some((c) => c.IpAddress === ip))!.ID.toLowerCase();
}

/**
 * Runs the daemon until ready (every controller converged once and the CNI config written) and
 * stops it; returns the endpoints whose policies changed and the write counters' deltas.
 */
async function daemonRun(t: ExecutionContext, host: SimHostFile, args: readonly string[], port: number) {
  const before = await host.state();
  const daemon = await startReady(args, port, ENV);
  t.teardown(() => daemon.stop());
  t.is((await daemon.stop()).code, 0);
  const after = await host.state();
  const was = endpointPolicies(before);
  const changed = [...endpointPolicies(after)].filter(([id, policies]) => was.get(id) !== policies).map(([id]) => id);
  const delta = (op: string) => (after.counters[op] ?? 0) - (before.counters[op] ?? 0);
  return { changed: changed.sort(), modifyEndpoint: delta('modifyEndpoint'), writes: delta('writes'), after };
}

test('kube mode with NetworkPolicy: plan lists the ACL, CNI config and subnet.env writes the daemon then makes, and writes nothing', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const { dir, port, host, args: base } = await kubeSimNode(server.kubeconfigPath, 'plan-kube');
  const cniConf = join(dir, '10-flannel.conflist');

  // The node as it was before: the network and the lease set up by a daemon without policy
  // enforcement or CNI config, then the CNI adds the pods' endpoints.
  const first = await startReady([...base, '--network-policy=false'], port, ENV);
  t.teardown(() => first.stop());
  t.is((await first.stop()).code, 0);
  for (const p of PODS) await run(process.execPath, [MAIN_JS, 'sim', 'endpoint', 'add', '--sim-state', host.path, '--ip', p.ip, '--name', p.name]);

  const ipam = join(dir, 'ipam');
  const sourceVipFile = join(dir, 'sourceVip.json');
  const args = [...base, `--cni-conf-file=${cniConf}`, `--cni-ipam-data-dir=${ipam}`, `--source-vip-file=${sourceVipFile}`];
  const fileBefore = await readFile(host.path, 'utf8');
  const versionsBefore = versions(server);
  const requestsBefore = server.requests.length;
  const planned = await plan(args);
  t.is(planned.code, 2, planned.stderr);
  const state = await host.state();
  const idOf = (pod: string) => endpointIdOf(state, IP_OF.get(pod)!);
  const aclKeys = ['default/web', 'default/db', 'default/client'].map(idOf).sort();
  t.deepEqual(
    planned.result.writes.map((w) => [w.op, w.kind]),
    [['create', 'source-vip'], ['create', 'source-vip-file'], ...aclKeys.map(() => ['replace', 'endpoint-acl']), ['create', 'cni-config']],
    JSON.stringify(planned.result.writes, null, 1),
  );
  t.deepEqual(planned.result.writes.filter((w) => w.kind === 'endpoint-acl').map((w) => w.key).sort(), aclKeys);
  const web = planned.result.writes.find((w) => w.key === idOf('default/web'))!;
  t.true(web.fields.includes('pod: default/web'), web.fields.join('\n'));
  t.true(web.fields.includes('policies: default/default-deny-ingress, default/web-from-frontend'), web.fields.join('\n'));
  t.regex(web.fields.join('\n'), /^rules: 0 -> \d+ \(\+\d+ added, -0 removed\)$/m);
  const db = planned.result.writes.find((w) => w.key === idOf('default/db'))!;
  t.true(db.fields.includes('policies: default/default-deny-ingress'), db.fields.join('\n'));
  // kube-proxy's source VIP: the lowest usable address of the node subnet, .2.
  t.is(planned.result.writes[0]!.key, join(ipam, 'flannel.4096', '10.244.5.2'));
  t.true(planned.result.writes[1]!.fields.includes('ips.0.address: "10.244.5.2/24"'), planned.result.writes[1]!.fields.join('\n'));
  const cniWrite = planned.result.writes.find((w) => w.kind === 'cni-config')!;
  t.is(cniWrite.key, cniConf);
  t.true(cniWrite.fields.includes('name: "flannel.4096"'), cniWrite.fields.join('\n'));
  t.true(cniWrite.fields.includes('plugins.0.delegate.ipMasq: false'), cniWrite.fields.join('\n'));
  t.like(planned.result.policy, { node: NODE, localPods: 4, endpoints: 4, policies: 2, podsWithoutEndpoint: [] });
  // The dry run wrote nothing: the host file byte for byte, every resourceVersion, and it sent only GETs.
  t.is(await readFile(host.path, 'utf8'), fileBefore);
  t.is(versions(server), versionsBefore);
  t.false(existsSync(ipam), 'no IPAM store was created');
  t.false(existsSync(sourceVipFile));
  const sent = server.requests.slice(requestsBefore);
  t.true(sent.length > 0);
  t.deepEqual(sent.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`), []);
  t.deepEqual(sent.filter((r) => r.query['watch'] !== undefined).map((r) => r.path), [], 'no watch');

  // The daemon then makes exactly those writes: one endpoint Update per planned endpoint, no
  // other HNS call, and the CNI config as planned. To the API server it writes nothing: the
  // node's annotations and its NetworkUnavailable condition are as the first run left them,
  // and plan listed neither.
  const apiBefore = server.requests.length;
  const applied = await daemonRun(t, host, args, port);
  t.deepEqual(server.requests.slice(apiBefore).filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`), []);
  t.deepEqual(applied.changed, aclKeys);
  t.is(applied.modifyEndpoint, aclKeys.length);
  t.is(applied.writes, aclKeys.length, JSON.stringify(applied.after.counters));
  t.deepEqual(await readdir(join(ipam, 'flannel.4096')), ['10.244.5.2']);
  t.regex(await readFile(sourceVipFile, 'utf8'), /"address": "10\.244\.5\.2\/24"/);
  const conf = JSON.parse(await readFile(cniConf, 'utf8')) as { name: string; plugins: Array<{ delegate: { ipMasq: boolean } }> };
  t.is(conf.name, 'flannel.4096');
  t.false(conf.plugins[0]!.delegate.ipMasq);
  const settled = await plan(args);
  t.is(settled.code, 0, JSON.stringify(settled.result.writes, null, 1));
  t.deepEqual(settled.result.writes, []);

  // --ip-masq turned on and a policy changed while the daemon is down: subnet.env and the CNI
  // config change by one field each, and only web's ACLs change.
  server.update('networkpolicies', 'default/web-from-frontend', (o) => {
    (o['spec'] as { ingress: Array<{ ports: unknown[] }> }).ingress[0]!.ports = [{ protocol: 'TCP', port: 8080 }];
  });
  const masq = [...args, '--ip-masq=true'];
  const subnetEnvBefore = await readFile(join(dir, 'subnet.env'), 'utf8');
  const fileBefore2 = await readFile(host.path, 'utf8');
  const versionsBefore2 = versions(server);
  const changed = await plan(masq);
  t.is(changed.code, 2, changed.stderr);
  t.deepEqual(
    changed.result.writes.map((w) => [w.op, w.kind, w.key, w.kind === 'endpoint-acl' ? w.fields.filter((f) => f.startsWith('rules:')) : w.fields]),
    [
      ['replace', 'file', join(dir, 'subnet.env'), ['FLANNEL_IPMASQ: false -> true']],
      ['replace', 'endpoint-acl', idOf('default/web'), [web.fields.find((f) => f.startsWith('rules:'))!.replace(/^rules: 0 -> (\d+) .*$/, 'rules: $1 -> $1 (+1 added, -1 removed)')]],
      ['replace', 'cni-config', cniConf, ['plugins.0.delegate.ipMasq: false -> true']],
    ],
  );
  t.is(await readFile(host.path, 'utf8'), fileBefore2);
  t.is(versions(server), versionsBefore2);
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), subnetEnvBefore);

  const reapplied = await daemonRun(t, host, masq, port);
  t.deepEqual(reapplied.changed, [idOf('default/web')]);
  t.is(reapplied.writes, 1, JSON.stringify(reapplied.after.counters));
  t.regex(await readFile(join(dir, 'subnet.env'), 'utf8'), /^FLANNEL_IPMASQ=true$/m);
  t.true((JSON.parse(await readFile(cniConf, 'utf8')) as typeof conf).plugins[0]!.delegate.ipMasq);
  const again = await plan(masq);
  t.is(again.code, 0, JSON.stringify(again.result.writes, null, 1));
});
