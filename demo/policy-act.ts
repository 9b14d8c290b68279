/**
 * The demo's NetworkPolicy act: flannel-win in kube mode against a small HTTPS Kubernetes API
 * server (the one the tests use), on a simulated host whose pod endpoints are added with
 * `flannel-win sim endpoint add`, as the Windows CNI would create them. A default-deny and an
 * allow policy are applied; `flannel-win sim flows` shows who can talk to whom before and after;
 * a pod label change rewrites only the one endpoint whose ACLs it changes; a restart writes none.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AclPolicySetting } from '../src/hns/types.js';
import type { SimStateDocument } from '../src/sim/state-file.js';
import { readHostFile } from '../src/sim/state-view.js';
import { KubeApiServer } from '../test/support/kube-api-server.js';
import type { StoredObject } from '../test/support/kube-resource-store.js';
import { bold, dim, step, until as untilOr } from './demo-steps.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const DIR = resolve('.sim/demo-policy');
const FILES = {
  host: `${DIR}/host.json`,
  netConf: `${DIR}/net-conf.json`,
  subnetEnv: `${DIR}/subnet.env`,
  log: `${DIR}/flannel-win.log`,
};
const NODE = 'win-1';
const NAMESPACE = 'shop';
const PORT = 8080;

interface DemoPod {
  name: string;
  app: string;
  ip: string;
}

const PODS: readonly DemoPod[] = [
  { name: 'frontend', app: 'frontend', ip: '10.244.1.11' },
  { name: 'backend', app: 'backend', ip: '10.244.1.12' },
  { name: 'db', app: 'db', ip: '10.244.1.13' },
  { name: 'debug', app: 'debug', ip: '10.244.1.14' },
];

function podObject(pod: DemoPod, app = pod.app): StoredObject {
  return {
    metadata: { namespace: NAMESPACE, name: pod.name, labels: { app } },
    spec: { nodeName: NODE, containers: [{ name: pod.name, image: `registry.example/${pod.name}:1`, ports: [{ name: 'http', containerPort: PORT }] }] },
    status: { phase: 'Running', podIP: pod.ip, podIPs: [{ ip: pod.ip }] },
  };
}

const DEFAULT_DENY: StoredObject = {
  metadata: { namespace: NAMESPACE, name: 'default-deny-ingress' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};

const ALLOW_FRONTEND: StoredObject = {
  metadata: { namespace: NAMESPACE, name: 'backend-from-frontend' },
  spec: { podSelector: { matchLabels: { app: 'backend' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 'http' }] }] },
};

const until = <T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> => untilOr(check, what, FILES.log);

/** Our ACLs on each pod endpoint (by pod name), as canonical JSON, from the simulated host's file. */
function aclsByPod(state: SimStateDocument): Map<string, string> {
  const out = new Map<string, string>();
  for (const endpoint of state.endpoints) {
    const pod = PODS.find((p) => endpoint.IpConfigurations?.some((c) => c.IpAddress === p.ip));
    if (!pod) continue;
    const acls = (endpoint.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => p.Settings as AclPolicySetting);
    out.set(pod.name, JSON.stringify(acls));
  }
  return out;
}

const endpointWrites = (state: SimStateDocument): number => state.counters['modifyEndpoint'] ?? 0;

/** One flannel-win daemon in kube mode on the act's files. */
class KubeModeDaemon {
  #child: ChildProcess | undefined;

  constructor(
    private readonly server: KubeApiServer,
    private readonly port: number,
  ) {}

  async start(): Promise<number> {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--kube-subnet-mgr',
        `--kubeconfig-file=${this.server.kubeconfigPath}`,
        `--net-config-path=${FILES.netConf}`,
        '--dataplane=sim',
        // The API server is the demo's own: no real peer can read the simulated VtepMAC.
        '--sim-with-real-store',
        `--sim-state=${FILES.host}`,
        `--subnet-file=${FILES.subnetEnv}`,
        '--public-ip=192.168.1.10',
        '--resync-interval=2',
        '--healthz-ip=127.0.0.1',
        `--healthz-port=${this.port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_NAME: NODE } },
    );
    this.#child = child;
    child.stderr!.pipe(createWriteStream(FILES.log, { flags: 'a' }));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`flannel-win exited with code ${code}; see ${FILES.log}`))));
    exited.catch(() => undefined);
    await Promise.race([until(async () => (await fetch(`http://127.0.0.1:${this.port}/readyz`)).status === 200, 'readiness'), exited]);
    return Date.now() - started;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await done;
  }

  /** Fails with a clear reason when this build of the daemon enforces no NetworkPolicy. */
  async requirePolicyController(): Promise<void> {
    const status = (await (await fetch(`http://127.0.0.1:${this.port}/status`)).json()) as { controllers?: Record<string, unknown> };
    const names = Object.keys(status.controllers ?? {});
    if (!names.includes('policy')) {
      throw new Error(`this flannel-win runs no NetworkPolicy controller (its controllers: ${names.join(', ') || 'none'}); the policy act needs enforcement on the node's endpoints`);
    }
  }

  /**
   * Waits until every controller has run one more periodic resync (--resync-interval 2) and
   * applied what it found: a write it makes is then counted.
   */
  async afterResync(): Promise<void> {
    const since = Date.now();
    await until(async () => {
      const status = (await (await fetch(`http://127.0.0.1:${this.port}/status`)).json()) as { controllers?: Record<string, { reconciler?: ReconcilerStatus }> };
      const reconcilers = Object.values(status.controllers ?? {}).map((c) => c.reconciler);
      return reconcilers.length > 0 && reconcilers.every((r) => r !== undefined && Date.parse(r.lastResyncAt ?? '') > since && r.queued === 0 && r.inFlight === 0);
    }, 'a periodic resync of every controller');
  }
}

interface ReconcilerStatus {
  lastResyncAt?: string;
  queued: number;
  inFlight: number;
}

async function sim(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [MAIN, 'sim', ...args, `--sim-state=${FILES.host}`]);
  return stdout;
}

/** The matrix of `flannel-win sim flows` (its first table), indented. */
async function printFlows(): Promise<void> {
  const text = await sim('flows', '--protocol=tcp', `--port=${PORT}`);
  const [title, , ...rest] = text.split('\n');
  const end = rest.indexOf('');
  console.log(`    ${dim(`$ flannel-win sim flows --sim-state ${FILES.host} --port ${PORT}`)}`);
  console.log(`    ${title}`);
  console.log(`    ${dim(PODS.map((p) => `${p.ip} = ${p.name}`).join(', '))}`);
  for (const line of rest.slice(0, end === -1 ? undefined : end)) console.log(`      ${line}`);
}

/** Runs the act; `firstStep` numbers its steps after those of an act before it. */
export async function policyAct(firstStep = 1): Promise<[string, string][]> {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  await writeFile(FILES.netConf, JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } }));
  console.log(bold('\nflannel-win demo, NetworkPolicy: ACLs on the node\'s pod endpoints'));
  console.log(dim(`kube mode against a local HTTPS test API server; simulated HNS host; files in ${DIR}`));
  const server = await KubeApiServer.start();
  const daemon = new KubeModeDaemon(server, 10256 + 1000 + Math.floor(Math.random() * 1000));
  const summary: [string, string][] = [];
  const host = () => readHostFile(FILES.host);
  let n = firstStep;
  try {
    server.addNode({ name: NODE, podCIDR: '10.244.1.0/24', labels: { 'kubernetes.io/os': 'windows' } });
    server.put('namespaces', { metadata: { name: NAMESPACE, labels: { 'kubernetes.io/metadata.name': NAMESPACE } } });

    step(n++, `start flannel-win in kube mode; four pods start on ${NODE} in namespace "${NAMESPACE}"`);
    const startMs = await daemon.start();
    await daemon.requirePolicyController();
    console.log(`    ready in ${startMs} ms`);
    for (const pod of PODS) {
      // The CNI creates the endpoint first; the pod's IP appears in the API afterwards.
      const id = (await sim('endpoint', 'add', `--ip=${pod.ip}`, `--name=${pod.name}`)).trim();
      server.put('pods', podObject(pod));
      console.log(`    ${dim(`$ flannel-win sim endpoint add --ip ${pod.ip} --name ${pod.name}`)}  -> ${id}  (${pod.name}, app=${pod.app})`);
    }
    console.log('    no policy yet: every pod reaches every other');
    await printFlows();

    step(n++, 'apply a default-deny ingress policy and "backend accepts frontend on http"');
    let before = endpointWrites(await host());
    let t0 = Date.now();
    server.put('networkpolicies', DEFAULT_DENY);
    server.put('networkpolicies', ALLOW_FRONTEND);
    await until(async () => [...aclsByPod(await host()).values()].every((acls) => acls !== '[]') && aclsByPod(await host()).size === PODS.length, 'the daemon to program ACLs on every pod endpoint (NetworkPolicy enforcement)');
    await daemon.afterResync();
    let writes = endpointWrites(await host()) - before;
    console.log(`    ${PODS.length} endpoints programmed in ${Date.now() - t0} ms with ${writes} endpoint writes (one each; a resync since wrote none)`);
    summary.push(['policies applied (4 pods)', `${writes} endpoint writes`]);
    await printFlows();

    step(n++, 'label the debug pod app=frontend');
    const acls = aclsByPod(await host());
    before = endpointWrites(await host());
    t0 = Date.now();
    server.put('pods', podObject(PODS[3]!, 'frontend'));
    await until(async () => aclsByPod(await host()).get('backend')?.includes(PODS[3]!.ip), 'the backend endpoint to let the debug pod in');
    const changedMs = Date.now() - t0;
    await daemon.afterResync();
    const after = aclsByPod(await host());
    writes = endpointWrites(await host()) - before;
    const rewritten = PODS.filter((p) => after.get(p.name) !== acls.get(p.name)).map((p) => p.name);
    console.log(`    ${writes} endpoint write${writes === 1 ? '' : 's'} after ${changedMs} ms: ACLs changed on ${rewritten.join(', ') || 'none'}; the other ${PODS.length - rewritten.length} endpoints untouched`);
    summary.push(['pod label change', `${writes} endpoint write (${rewritten.join(', ')})`]);
    await printFlows();

    step(n++, 'restart flannel-win (as a DaemonSet rollout would)');
    await daemon.stop();
    before = endpointWrites(await host());
    const restartMs = await daemon.start();
    await daemon.afterResync();
    await daemon.stop();
    writes = endpointWrites(await host()) - before;
    console.log(`    ready again in ${restartMs} ms with ${writes} ACL writes: the programmed ACLs equal the compiled ones, so live connections are left alone`);
    summary.push(['restart, nothing changed', `${restartMs} ms, ${writes} endpoint writes`]);
    return summary;
  } finally {
    await daemon.stop();
    await server.close();
  }
}
