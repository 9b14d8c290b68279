import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AclPolicySetting, EndpointPolicy } from '../../src/hns/types.js';
import type { FlowMatrix } from '../../src/sim/flow-matrix.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { MAIN_JS, type DaemonProcess } from '../support/daemon-process.js';
import { kubeSimNode, SimHostFile, startReady } from '../support/e2e-host.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { waitFor } from '../support/wait.js';

// Scenarios after the Kubernetes documentation's NetworkPolicy examples: a default-deny ingress
// policy in a namespace, an allow from pods with a label, an allow from namespaces with a label,
// and a default-deny egress policy.

const run = promisify(execFile);
const NODE = 'win-1';
// The machine running the suite is shared and loaded: readiness and convergence get generous deadlines.
const SLOW_MS = 90_000;

interface PodSpec {
  ns: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  node?: string;
}

const PODS: PodSpec[] = [
  { ns: 'default', name: 'web', ip: '10.244.5.10', labels: { app: 'web' } },
  { ns: 'default', name: 'db', ip: '10.244.5.11', labels: { app: 'db' } },
  { ns: 'default', name: 'client', ip: '10.244.5.12', labels: { role: 'frontend' } },
  { ns: 'ops', name: 'tool', ip: '10.244.5.13', labels: { app: 'tool' } },
  { ns: 'locked', name: 'box', ip: '10.244.5.14', labels: { app: 'box' } },
  // On another node: its address appears in rules, its endpoint here is kube-proxy's remote one.
  { ns: 'default', name: 'far-client', ip: '10.244.1.5', labels: { role: 'frontend' }, node: 'linux-1' },
];
const NAMES = PODS.filter((p) => p.node === undefined).map((p) => p.name);
const IP_OF = new Map(PODS.map((p) => [p.name, p.ip]));
const NO_POD_IP = '10.244.5.50';

function podObject(p: PodSpec) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.ns, labels: p.labels },
    spec: { nodeName: p.node ?? NODE, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

function policy(ns: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

const POLICIES = [
  policy('default', 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
  policy('default', 'web-from-frontend', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
  }),
  policy('default', 'db-from-ops', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }],
  }),
  policy('locked', 'default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] }),
  // One the API server would refuse (bad CIDR); it selects no pod here, and is reported once.
  policy('ops', 'bad-cidr', {
    podSelector: { matchLabels: { app: 'ghost' } },
    ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }],
  }),
];

/** Who reaches whom on TCP 80 under POLICIES, as the Kubernetes semantics say ("node" included). */
function expectedReach(dbIsFrontend = false, dbFromOps = true): Set<string> {
  const allowed = new Set<string>();
  const ingressAllows = (from: string, to: string): boolean => {
    if (from === 'node') return true;
    if (to === 'web') return from === 'client' || (dbIsFrontend && from === 'db');
    if (to === 'db') return dbFromOps && from === 'tool';
    if (to === 'client') return false;
    return true; // tool, box: no ingress isolation
  };
  const egressAllows = (from: string): boolean => from !== 'box';
  for (const from of ['node', ...NAMES]) {
    for (const to of NAMES) {
      if (from !== to && egressAllows(from) && ingressAllows(from, to)) allowed.add(`${from}>${to}`);
    }
  }
  return allowed;
}

async function sim(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [MAIN_JS, 'sim', ...args], { timeout: 60_000 });
  return stdout.trim();
}

async function flows(host: SimHostFile): Promise<Set<string>> {
  const matrix = JSON.parse(await sim('flows', '--sim-state', host.path, '-o', 'json')) as FlowMatrix;
  const nameOf = new Map<string, string>([['node', 'node']]);
  for (const e of matrix.endpoints) {
    const pod = PODS.find((p) => p.ip === e.ip && p.node === undefined);
    if (pod) nameOf.set(e.id, pod.name);
  }
  const allowed = new Set<string>();
  for (const f of matrix.flows) {
    const from = nameOf.get(f.from);
    const to = nameOf.get(f.to);
    if (from !== undefined && to !== undefined && f.allowed) allowed.add(`${from}>${to}`);
  }
  return allowed;
}

function endpointByIp(state: SimStateDocument, ip: string) {
  return state.endpoints.find((e) => (e.IpConfigurations ?? []).some((c) => c.IpAddress === ip));
}

function acls(state: SimStateDocument, ip: string): AclPolicySetting[] {
  return (endpointByIp(state, ip)?.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => p.Settings as AclPolicySetting);
}

function policiesOf(state: SimStateDocument, ip: string): EndpointPolicy[] {
  return endpointByIp(state, ip)?.Policies ?? [];
}

/** Every pod endpoint still carries the CNI's OutBoundNAT policy. */
function assertNatKept(t: ExecutionContext, state: SimStateDocument): void {
  for (const ip of [...NAMES.map((n) => IP_OF.get(n)!), NO_POD_IP]) {
    t.true(policiesOf(state, ip).some((p) => p.Type === 'OutBoundNAT'), `OutBoundNAT on ${ip}`);
  }
}

const modifyEndpointCount = (s: SimStateDocument): number => s.counters['modifyEndpoint'] ?? 0;

/** The ACL lists programmed now, by pod name, for comparing before and after a change. */
function aclSnapshot(state: SimStateDocument): Map<string, string> {
  return new Map(NAMES.map((n) => [n, JSON.stringify(policiesOf(state, IP_OF.get(n)!))]));
}

async function policyStatus(port: number): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  const body = (await res.json()) as { controllers: Record<string, Record<string, unknown>> };
  return body.controllers['policy']!;
}

/** Waits for two more resyncs of the policy controller (one may have been under way). */
async function twoResyncs(port: number): Promise<void> {
  const seen: string[] = [];
  await waitFor(
    async () => {
      const at = String(((await policyStatus(port))['reconciler'] as { lastResyncAt?: string }).lastResyncAt ?? '');
      if (at !== '' && !seen.includes(at)) seen.push(at);
      return seen.length >= 3;
    },
    { timeoutMs: SLOW_MS, what: 'two policy resyncs' },
  );
}

async function cluster(): Promise<KubeApiServer> {
  const server = await KubeApiServer.start();
  server.addNode({ name: NODE, podCIDR: '10.244.5.0/24' });
  server.addNode({ name: 'linux-1', podCIDR: '10.244.1.0/24' });
  server.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  server.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops', labels: { team: 'ops' } } });
  server.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locked' } });
  for (const p of PODS) server.put('pods', podObject(p));
  for (const p of POLICIES) server.put('networkpolicies', p);
  return server;
}

async function setUp(t: ExecutionContext) {
  const server = await cluster();
  t.teardown(() => server.close());
  const node = await kubeSimNode(server.kubeconfigPath, 'e2e-policy');
  const { dir, port, host } = node;
  const cniConf = join(dir, '10-flannel.conflist');
  const args = [...node.args, '--resync-interval=1', `--cni-conf-file=${cniConf}`, '--log-level=debug'];
  return { server, dir, port, host, args, cniConf, env: { NODE_NAME: NODE } };
}

async function startTracked(t: ExecutionContext, args: string[], port: number, env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await startReadySlow(args, port, env);
  t.teardown(() => daemon.stop());
  return daemon;
}

async function startReadySlow(args: string[], port: number, env: Record<string, string>): Promise<DaemonProcess> {
  // startReady waits 30 s; on a loaded machine the first start (HNS network, TLS, three lists) can take longer.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startReady(args, port, env);
    } catch (err) {
      if (attempt >= 2 || !String(err).includes('to report ready')) throw err;
    }
  }
}

/** The daemon's log lines about endpoint writes and merges of the host file, for a failed count. */
function explainWrites(daemon: DaemonProcess): string {
  return daemon.rawStderr.filter((l) => /endpoint ACLs written|conflict|merge|failed/i.test(l)).slice(-40).join('\n');
}

function logIndex(daemon: DaemonProcess, text: string): number {
  return daemon.logs.findIndex((l) => l.msg.includes(text));
}

test('NetworkPolicy on the node: flows as specified, minimal rewrites, drift repaired, zero-write resync and restart, cold start', async (t) => {
  const { server, port, host, args, cniConf, env } = await setUp(t);
  let daemon = await startTracked(t, args, port, env);
  // The CNI config follows the first policy apply (the policy controller converged first).
  t.true(existsSync(cniConf));
  const converged = logIndex(daemon, 'endpoint ACLs converged with the cluster');
  t.true(converged >= 0 && converged < logIndex(daemon, 'CNI config written'), 'policy converged before the CNI config was written');

  // An endpoint without a pod, and a remote endpoint (kube-proxy creates one per service backend
  // on another node) on our network.
  await sim('endpoint', 'add', '--sim-state', host.path, '--ip', NO_POD_IP, '--name', 'no-pod');
  await host.edit((s) => {
    const template = s.endpoints.find((e) => e.Name === 'no-pod')!;
    s.endpoints.push({
      ...structuredClone(template),
      ID: randomUUID(),
      Name: 'remote',
      Flags: 1,
      IpConfigurations: [{ IpAddress: IP_OF.get('far-client')!, PrefixLength: 16 }],
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.21' } }],
    });
  });
  // The CNI creates the pod endpoints after the pods have their IPs: the daemon finds them by back-off.
  for (const name of NAMES) await sim('endpoint', 'add', '--sim-state', host.path, '--ip', IP_OF.get(name)!, '--name', name);
  const untouched = await host.state();
  const noPodBefore = JSON.stringify(policiesOf(untouched, NO_POD_IP));
  const remoteBefore = JSON.stringify(policiesOf(untouched, IP_OF.get('far-client')!));

  const expected = expectedReach();
  let state = await host.until((s) => NAMES.filter((n) => n !== 'tool').every((n) => acls(s, IP_OF.get(n)!).length > 0), 'ACLs on every isolated pod endpoint', SLOW_MS);
  t.deepEqual([...(await flows(host))].sort(), [...expected].sort(), 'the flows matrix is the specified reachability');
  t.is(acls(state, IP_OF.get('tool')!).length, 0, 'a pod no policy isolates gets no ACL');
  assertNatKept(t, state);
  if (modifyEndpointCount(state) !== 4) t.log(explainWrites(daemon));
  t.is(modifyEndpointCount(state), 4, 'one write per isolated endpoint (web, db, client, box)');

  // An idle resync writes nothing.
  await twoResyncs(port);
  state = await host.state();
  t.is(modifyEndpointCount(state), 4, 'idle resyncs make no endpoint write');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.regex(metrics, /^flannel_win_policy_endpoint_writes_total 4$/m);
  t.regex(metrics, /^flannel_win_controller_converged\{controller="policy"\} 1$/m);
  const badPolicyLogs = daemon.logs.filter((l) => l.level === 40 && l.msg.includes('ops/bad-cidr'));
  t.is(badPolicyLogs.length, 1, 'a bad policy is reported once, not at every resync');
  t.regex(badPolicyLogs[0]!.msg, /10\.0\.0\.0\/33/);
  t.truthy(((await policyStatus(port))['problems'] as Record<string, unknown>)['ops/bad-cidr']);

  // A label change: db becomes a frontend, so only web's allow list grows.
  let before = aclSnapshot(state);
  server.update('pods', 'default/db', (o) => {
    o.metadata['labels'] = { app: 'db', role: 'frontend' };
  });
  await waitFor(async () => (await flows(host)).has('db>web'), { timeoutMs: SLOW_MS, what: 'db to reach web after its label change' });
  await twoResyncs(port);
  state = await host.state();
  let after = aclSnapshot(state);
  t.deepEqual(NAMES.filter((n) => before.get(n) !== after.get(n)), ['web'], 'only web changed');
  t.is(modifyEndpointCount(state), 5, 'one write: web once');
  t.deepEqual([...(await flows(host))].sort(), [...expectedReach(true)].sort());
  assertNatKept(t, state);

  // A policy change: db no longer admits the ops namespace.
  before = after;
  server.update('networkpolicies', 'default/db-from-ops', (o) => {
    (o['spec'] as { ingress: unknown[] }).ingress = [{ from: [{ namespaceSelector: { matchLabels: { team: 'nobody' } } }] }];
  });
  await waitFor(async () => !(await flows(host)).has('tool>db'), { timeoutMs: SLOW_MS, what: 'tool to lose db after the policy change' });
  await twoResyncs(port);
  state = await host.state();
  after = aclSnapshot(state);
  t.deepEqual(NAMES.filter((n) => before.get(n) !== after.get(n)), ['db'], 'only db changed');
  t.is(modifyEndpointCount(state), 6, 'one write: db once');
  t.deepEqual([...(await flows(host))].sort(), [...expectedReach(true, false)].sort());

  // ACLs deleted behind the daemon's back come back at the next resync; an operator's ACL added
  // meanwhile (not ours: no flannel-win Id) is kept through the rewrite and reported.
  const webAcls = acls(state, IP_OF.get('web')!);
  const operatorAcl: AclPolicySetting = { Id: 'operator:allow-monitoring', Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 500, RemoteAddresses: '10.9.9.9', Protocols: '6' };
  await host.edit((s) => {
    const web = endpointByIp(s, IP_OF.get('web')!)!;
    web.Policies = [...(web.Policies ?? []).filter((p) => p.Type !== 'ACL'), { Type: 'ACL', Settings: operatorAcl }];
  });
  state = await host.until((s) => acls(s, IP_OF.get('web')!).length > 1, 'the resync to restore web\'s ACLs', SLOW_MS);
  const ours = (s: SimStateDocument, name: string) => acls(s, IP_OF.get(name)!).filter((a) => a.Id !== operatorAcl.Id);
  t.deepEqual(ours(state, 'web'), webAcls, 'restored as they were');
  t.deepEqual(acls(state, IP_OF.get('web')!).filter((a) => a.Id === operatorAcl.Id), [operatorAcl], 'the operator\'s ACL is kept');
  assertNatKept(t, state);
  const webId = endpointByIp(state, IP_OF.get('web')!)!.ID.toLowerCase();
  await waitFor(async () => ((await policyStatus(port))['foreignAcls'] as Record<string, number>)[webId] === 1, { timeoutMs: SLOW_MS, what: 'the foreign ACL to be reported' });
  // The operator takes it away again: nothing of ours changes, nothing is written.
  const writesBeforeOperator = modifyEndpointCount(state);
  await host.edit((s) => {
    const web = endpointByIp(s, IP_OF.get('web')!)!;
    web.Policies = (web.Policies ?? []).filter((p) => (p.Settings as AclPolicySetting).Id !== operatorAcl.Id);
  });
  await twoResyncs(port);
  state = await host.state();
  t.is(modifyEndpointCount(state), writesBeforeOperator);
  t.deepEqual(aclSnapshot(state).get('web'), after.get('web'));

  // Never written: the endpoint without a pod and the remote endpoint.
  t.is(JSON.stringify(policiesOf(state, NO_POD_IP)), noPodBefore);
  t.is(JSON.stringify(policiesOf(state, IP_OF.get('far-client')!)), remoteBefore);
  const status = await policyStatus(port);
  t.is(status['localEndpoints'], NAMES.length);
  t.is(status['policies'], POLICIES.length);

  // The CNI deletes box's endpoint (the pod restarts) and creates a new one: its entry goes with
  // the old endpoint, and the new one is programmed once, found by the back-off listing.
  const writesBeforeRecreate = modifyEndpointCount(state);
  await sim('endpoint', 'remove', '--sim-state', host.path, '--ip', IP_OF.get('box')!);
  await waitFor(async () => (await policyStatus(port))['localEndpoints'] === NAMES.length - 1, { timeoutMs: SLOW_MS, what: 'box to leave the local endpoints' });
  await sim('endpoint', 'add', '--sim-state', host.path, '--ip', IP_OF.get('box')!, '--name', 'box-again');
  state = await host.until((s) => acls(s, IP_OF.get('box')!).length > 0, 'the new box endpoint to be programmed', SLOW_MS);
  t.is(modifyEndpointCount(state) - writesBeforeRecreate, 1, 'one write for the new endpoint');
  t.deepEqual(aclSnapshot(state).get('box'), after.get('box'));
  t.is((await policyStatus(port))['endpointsFailing'], 0);

  // A restart with nothing changed writes nothing at all.
  const stopped = await daemon.stop();
  t.is(stopped.code, 0);
  const writesBefore = (await host.state()).counters['writes'] ?? 0;
  daemon = await startTracked(t, args, port, env);
  await waitFor(async () => (await policyStatus(port))['converged'] === true, { timeoutMs: SLOW_MS, what: 'the policy controller to converge again' });
  await twoResyncs(port);
  await daemon.stop();
  t.is(((await host.state()).counters['writes'] ?? 0) - writesBefore, 0, 'a restart makes no HNS write');

  // Cold start: every ACL gone while the daemon was down, policies already in the cluster.
  await host.edit((s) => {
    for (const e of s.endpoints) e.Policies = (e.Policies ?? []).filter((p) => p.Type !== 'ACL');
  });
  const cold = await host.state();
  t.true(NAMES.every((n) => acls(cold, IP_OF.get(n)!).length === 0));
  daemon = await startTracked(t, args, port, env);
  // Ready means converged: the first listing programmed everything, once per endpoint.
  state = await host.until((s) => modifyEndpointCount(s) - modifyEndpointCount(cold) === 4, 'the cold start writes', SLOW_MS);
  t.deepEqual(aclSnapshot(state), after);
  t.deepEqual([...(await flows(host))].sort(), [...expectedReach(true, false)].sort());
  await twoResyncs(port);
  t.is(modifyEndpointCount(await host.state()) - modifyEndpointCount(cold), 4, 'no write beyond one per isolated endpoint');
});

/** `flannel-win explain` as an operator runs it on the node: the daemon's flags say where its health server is. */
async function explain(host: SimHostFile, port: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [MAIN_JS, 'explain', ...args, '--dataplane=sim', `--sim-state=${host.path}`, '--healthz-ip=127.0.0.1', `--healthz-port=${port}`];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('explain against the running daemon: the allowing rule and its policy, the final block, and ACLs stripped behind its back as a MISMATCH', async (t) => {
  const { port, host, args, env } = await setUp(t);
  // No resync during the test: the stripped ACLs must stay stripped until explain has seen them.
  await startTracked(t, [...args, '--resync-interval=3600'], port, env);
  for (const name of NAMES) await sim('endpoint', 'add', '--sim-state', host.path, '--ip', IP_OF.get(name)!, '--name', name);
  await host.until((s) => NAMES.filter((n) => n !== 'tool').every((n) => acls(s, IP_OF.get(n)!).length > 0), 'ACLs on every isolated pod endpoint', SLOW_MS);
  await waitFor(async () => ((await policyStatus(port))['reconciler'] as { queued: number; inFlight: number }).queued === 0, { timeoutMs: SLOW_MS, what: 'the policy writes to finish' });

  // Allowed by a named rule, both ends by namespace/pod.
  const allowed = await explain(host, port, '--from', 'default/client', '--to', 'default/web', '--port', '80');
  t.is(allowed.code, 0, allowed.stdout + allowed.stderr);
  t.regex(allowed.stdout, /^10\.244\.5\.12 \(default\/client\) -> 10\.244\.5\.10 \(default\/web\) tcp\/80: ALLOWED/);
  t.regex(allowed.stdout, /ingress at 10\.244\.5\.10 \(default\/web, endpoint [^)]+\): allowed by flannel-win:in:default\/web-from-frontend:0:\d+: NetworkPolicy default\/web-from-frontend, ingress rule 0/);
  t.regex(allowed.stdout, /ingress at default\/web \(this node\): allowed by NetworkPolicy default\/web-from-frontend ingress rule 0/);
  t.regex(allowed.stdout, /^MATCH: /m);

  // Blocked by the final block on web's ingress, and on box's egress (locked/default-deny-egress).
  const blocked = await explain(host, port, '--from', 'default/db', '--to', 'default/web', '--port', '80');
  t.is(blocked.code, 3, blocked.stdout + blocked.stderr);
  t.regex(blocked.stdout, /ingress at 10\.244\.5\.10 .*blocked by flannel-win:block:in: final block: ingress isolated and no policy rule allows this/);
  t.regex(blocked.stdout, /ingress at default\/web \(this node\): blocked: isolated by default\/default-deny-ingress, default\/web-from-frontend; no rule of them allows this/);
  t.regex(blocked.stdout, /^MATCH: /m);
  const egress = await explain(host, port, '--from', 'locked/box', '--to', IP_OF.get('tool')!, '--port', '80', '-o', 'json');
  t.is(egress.code, 3, egress.stdout + egress.stderr);
  t.like(JSON.parse(egress.stdout), {
    allowed: false,
    egress: { ruleId: 'flannel-win:block:out' },
    ingress: { reason: 'no-acl' },
    kubernetes: { from: { pod: 'locked/box', local: true }, to: { pod: 'ops/tool' }, egress: { allowed: false, isolatedBy: ['locked/default-deny-egress'] } },
    comparison: { made: true, match: true },
  });

  // Someone strips web's ACLs directly in HNS: the programmed ACLs now let db in, the policies do not.
  await host.edit((s) => {
    const web = endpointByIp(s, IP_OF.get('web')!)!;
    web.Policies = (web.Policies ?? []).filter((p) => p.Type !== 'ACL');
  });
  const drifted = await explain(host, port, '--from', 'default/db', '--to', 'default/web', '--port', '80');
  t.is(drifted.code, 4, drifted.stdout + drifted.stderr);
  t.regex(drifted.stdout, /ingress at 10\.244\.5\.10 .*allowed: no ACL: not isolated/);
  t.regex(drifted.stdout, /^MISMATCH \(drift or a bug\): programmed ACLs allow, Kubernetes semantics block: ingress at default\/web: isolated by default\/default-deny-ingress, default\/web-from-frontend; no rule of them allows this$/m);
  t.regex(drifted.stdout, /repairs ACLs changed on the host at its next resync/);
  t.is(acls(await host.state(), IP_OF.get('web')!).length, 0, 'explain wrote nothing');
});

test('--network-policy=false: no cluster watch, no policy controller, endpoint ACLs left to another engine', async (t) => {
  const { server, port, host, args, env } = await setUp(t);
  const daemon = await startTracked(t, [...args, '--network-policy=false'], port, env);
  await sim('endpoint', 'add', '--sim-state', host.path, '--ip', IP_OF.get('web')!, '--name', 'web');
  const body = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { controllers: Record<string, unknown> };
  t.deepEqual(Object.keys(body.controllers), ['peers']);
  t.is(server.requestsTo('GET', '/apis/networking.k8s.io/v1/networkpolicies').length, 0, 'policies are never read');
  t.truthy(daemon.logs.find((l) => l.msg.includes('NetworkPolicy enforcement off')));
  const state = await host.state();
  t.is(modifyEndpointCount(state), 0);
  t.is(acls(state, IP_OF.get('web')!).length, 0);
  // explain still reads the programmed ACLs, and says the daemon has no policies to compare with.
  const byIp = await explain(host, port, '--from', IP_OF.get('db')!, '--to', IP_OF.get('web')!, '--port', '80');
  t.is(byIp.code, 0, byIp.stdout + byIp.stderr);
  t.regex(byIp.stdout, /Kubernetes semantics: not compared: this daemon enforces no NetworkPolicy \(--network-policy=false/);
  const byName = await explain(host, port, '--from', 'default/db', '--to', 'default/web', '--port', '80');
  t.is(byName.code, 1);
  t.regex(byName.stderr, /namespace\/pod is resolved by the running daemon, which gave no answer: this daemon enforces no NetworkPolicy/);
});
