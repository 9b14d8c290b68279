import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { KubeApiServer } from '../support/kube-api-server.js';

const run = promisify(execFile);
const MANAGER = fileURLToPath(new URL('../../src/lease/kube/kube-subnet-manager.js', import.meta.url));
const LOG = fileURLToPath(new URL('../../src/log.js', import.meta.url));

/**
 * In a fresh process: records every module of @kubernetes/client-node that gets loaded, runs
 * the kube subnet manager until the first lease snapshot, and prints what was loaded.
 */
const CHILD = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({
  load(url, context, next) {
    if (url.includes('/node_modules/@kubernetes/client-node/')) loaded.add(url.replace(/^.*\\/client-node\\//, ''));
    return next(url, context);
  },
});
const { createKubeSubnetManager } = await import(process.env.MANAGER);
const { silentLogger } = await import(process.env.LOG);
const manager = createKubeSubnetManager({
  kubeconfigFile: process.env.KUBECONFIG_PATH, annotationPrefix: 'flannel.alpha.coreos.com', setNodeNetworkUnavailable: true,
  netConfText: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}', env: { NODE_NAME: 'win-1' }, log: silentLogger(),
});
const stop = new AbortController();
for await (const result of manager.watchLeases(stop.signal)) {
  if (result.kind === 'snapshot') break;
}
await manager.close();
console.log(JSON.stringify({ loaded: loaded.size, barrel: loaded.has('dist/gen/index.js') }));
`;

async function loadedBy(kubeconfigPath: string): Promise<{ loaded: number; barrel: boolean }> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, MANAGER, LOG, KUBECONFIG_PATH: kubeconfigPath },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { loaded: number; barrel: boolean };
}

test('kube mode with a token kubeconfig lists and watches without loading the Kubernetes client library', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });

  t.deepEqual(await loadedBy(server.kubeconfigPath), { loaded: 0, barrel: false });
  t.true(server.requestsTo('GET', '/api/v1/nodes').length >= 1);
});

test('an exec credential plugin is handed to the client library, loaded only then, and authenticates', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  const config = JSON.parse(await readFile(server.kubeconfigPath, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: server.token } });
  config.users[0]!.user = {
    exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `console.log(${JSON.stringify(credential)})`], interactiveMode: 'Never' },
  };
  const path = `${server.kubeconfigPath}.exec`;
  await writeFile(path, JSON.stringify(config));

  // The child only prints once the node list (authenticated by the plugin's token) arrived.
  const result = await loadedBy(path);
  t.true(result.loaded > 0);
  t.true(result.barrel);
});

test('the daemon and the etcd subnet manager load nothing of the Kubernetes client library', async (t) => {
  const modules = ['../../src/cli/run-cli.js', '../../src/cli/subnet-manager-choice.js', '../../src/lease/etcd/etcd-subnet-manager.js', '../../src/daemon/daemon.js'].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  const child = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({
  load(url, context, next) {
    if (url.includes('/node_modules/@kubernetes/client-node/')) loaded.push(url);
    return next(url, context);
  },
});
for (const path of JSON.parse(process.env.MODULES)) await import(path);
console.log(JSON.stringify(loaded));
`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', child], { env: { ...process.env, MODULES: JSON.stringify(modules) } });
  t.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1) as string), []);
});
