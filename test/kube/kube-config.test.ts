import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import test from 'ava';
import type { KubeError } from '../../src/kube/errors.js';
import { loadKubeConfig } from '../../src/kube/kube-config.js';
import { KubeHttpClient } from '../../src/kube/kube-http-client.js';
import { createKubeSubnetManager } from '../../src/lease/kube/kube-subnet-manager.js';
import { silentLogger } from '../../src/log.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { NET_CONF, TEST_TIMINGS } from '../support/kube-fixtures.js';

test('--kube-api-url replaces the server of the kubeconfig file, keeping its CA and token', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  const wrong = `${server.kubeconfigPath}.wrong`;
  await writeFile(wrong, (await readFile(server.kubeconfigPath, 'utf8')).replace(server.url, 'https://127.0.0.1:1'));

  const manager = createKubeSubnetManager({
    apiUrl: server.url,
    kubeconfigFile: wrong,
    annotationPrefix: 'flannel.alpha.coreos.com',
    setNodeNetworkUnavailable: true,
    netConfText: NET_CONF,
    env: { NODE_NAME: 'win-1' },
    log: silentLogger(),
    timings: TEST_TIMINGS,
  });
  await manager.markNetworkUp(new AbortController().signal);

  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 1);
  t.is(loadKubeConfig({ kubeApiUrl: server.url, kubeconfigFile: wrong }).server, server.url);
});

test('an unreadable kubeconfig file is a KUBE_CONFIG error naming it', (t) => {
  const err = t.throws(() => loadKubeConfig({ kubeApiUrl: '', kubeconfigFile: '/nonexistent/kubeconfig' }));
  t.is((err as KubeError).code, 'KUBE_CONFIG');
  t.deepEqual((err as KubeError).context, { kubeApiUrl: '', kubeconfigFile: '/nonexistent/kubeconfig' });
});

test('a wrong token is an API error with the HTTP status, retried until attempts run out', async (t) => {
  const server = await KubeApiServer.start({ token: 'right' });
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  const config = JSON.parse(await readFile(server.kubeconfigPath, 'utf8')) as { users: { user: { token: string } }[] };
  config.users[0]!.user.token = 'wrong';
  const path = `${server.kubeconfigPath}.token`;
  await writeFile(path, JSON.stringify(config));

  const manager = createKubeSubnetManager({
    kubeconfigFile: path,
    annotationPrefix: 'flannel.alpha.coreos.com',
    setNodeNetworkUnavailable: true,
    netConfText: NET_CONF,
    env: { NODE_NAME: 'win-1' },
    log: silentLogger(),
    timings: { ...TEST_TIMINGS, retryAttempts: 2 },
  });
  const err = await t.throwsAsync(
    manager.acquireLease(
      { attrs: { publicIp: '10.0.0.5', publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined } },
      new AbortController().signal,
    ),
  );
  t.is((err as KubeError).code, 'KUBE_API');
  t.like((err as KubeError).context, { call: 'get', object: 'node "win-1"', status: 401 });
  t.is(server.requestsTo('GET', '/api/v1/nodes/win-1').length, 2);
});

test('a token file, relative to the kubeconfig, is read again for each request (a rotated token is used)', async (t) => {
  const server = await KubeApiServer.start({ token: 'rotated' });
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  const config = JSON.parse(await readFile(server.kubeconfigPath, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  config.users[0]!.user = { tokenFile: 'token' };
  const path = `${server.kubeconfigPath}.tokenfile`;
  await writeFile(path, JSON.stringify(config));
  const tokenPath = join(dirname(path), 'token');
  await writeFile(tokenPath, 'expired\n');
  const client = new KubeHttpClient(loadKubeConfig({ kubeApiUrl: '', kubeconfigFile: path }));
  t.teardown(() => client.close());
  const get = (): Promise<unknown> => client.json('GET', '/api/v1/nodes/win-1', {}, undefined, undefined, { call: 'get', object: 'node "win-1"' }, new AbortController().signal);

  const err = await t.throwsAsync(get());
  t.like((err as KubeError).context, { call: 'get', object: 'node "win-1"', status: 401 });
  await writeFile(tokenPath, 'rotated\n');
  t.like(await get(), { metadata: { name: 'win-1' } });
});

test('a kubeconfig naming a proxy is refused with a KUBE_CONFIG error', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  const config = JSON.parse(await readFile(server.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  config.clusters[0]!.cluster['proxy-url'] = 'http://proxy:3128';
  const path = `${server.kubeconfigPath}.proxy`;
  await writeFile(path, JSON.stringify(config));

  const err = t.throws(() => loadKubeConfig({ kubeApiUrl: '', kubeconfigFile: path }));
  t.is((err as KubeError).code, 'KUBE_CONFIG');
  t.regex((err as KubeError).message, /proxy-url is not supported/);
});
