import test from 'ava';
import type { AclPolicySetting, HostComputeEndpoint } from '../../src/hns/types.js';
import { EXIT_BLOCKED, EXIT_MISMATCH, runExplainCommand } from '../../src/cli/explain-command.js';
import { startHealthServer } from '../../src/daemon/health-server.js';
import { answerPolicyFlow } from '../../src/daemon/policy-flow-route.js';
import { createLogger } from '../../src/log.js';
import { answerFlowQuestion } from '../../src/policy/flow-question.js';
import { cniEndpointDocument } from '../../src/sim/cni-endpoint.js';
import { openTestHost, overlayNetwork } from '../sim/sim-fixture.js';
import { freePort } from '../support/free-port.js';
import { netpol, pod, stateOf } from '../policy/policy-fixtures.js';

const CIDRS = { clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };

/** web (10.244.1.5) isolated for ingress by default/allow-db, which lets db (10.244.1.6) in on TCP 80. */
const world = {
  pods: [pod('default', 'web', '10.244.1.5', { app: 'web' }), pod('default', 'db', '10.244.1.6', { app: 'db' })],
  policies: [
    netpol('default', 'allow-db', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    }),
  ],
};

async function explain(stateFile: string, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runExplainCommand([...args, '--dataplane', 'sim', '--sim-state', stateFile], {}, 'linux', { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

async function hostWithCompiledAcls(t: Parameters<typeof openTestHost>[0]) {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const state = stateOf(world);
  const endpoints = new Map<string, HostComputeEndpoint>();
  for (const p of world.pods) {
    const ep = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: p.ips[0]!, ...CIDRS }));
    const acls = state.compile(`${p.namespace}/${p.name}`)!.acls;
    await writeAcls(host, ep, acls);
    endpoints.set(p.name, ep);
  }
  await host.close();
  return { host, endpoints };
}

async function writeAcls(host: Awaited<ReturnType<typeof openTestHost>>, ep: HostComputeEndpoint, acls: readonly AclPolicySetting[]) {
  const current = (await host.hns.getEndpoint(ep.ID!)).Policies ?? [];
  const Policies = [...current.filter((p) => p.Type !== 'ACL'), ...acls.map((Settings) => ({ Type: 'ACL' as const, Settings }))];
  await host.hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies } });
}

test('explain names the allowing NetworkPolicy rule, the final block, and sees ACLs removed behind the daemon\'s back', async (t) => {
  const { host, endpoints } = await hostWithCompiledAcls(t);

  const allowed = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5', '--port', '80');
  t.is(allowed.code, 0, allowed.stderr);
  t.regex(allowed.stdout, /ALLOWED/);
  t.regex(allowed.stdout, /ingress at 10\.244\.1\.5 .*allowed by flannel-win:in:default\/allow-db:0:\d+: NetworkPolicy default\/allow-db, ingress rule 0/);
  t.regex(allowed.stdout, /egress at 10\.244\.1\.6 .*allowed: no ACL: not isolated/);

  const json = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5', '--port', '80', '-o', 'json');
  t.like(JSON.parse(json.stdout), { allowed: true, ingress: { reason: 'rule', policy: { ref: 'default/allow-db', rule: 0 } }, egress: { reason: 'no-acl' } });

  const blocked = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5', '--port', '81');
  t.is(blocked.code, EXIT_BLOCKED, blocked.stderr);
  t.regex(blocked.stdout, /BLOCKED/);
  t.regex(blocked.stdout, /blocked by flannel-win:block:in: final block/);

  // Someone strips web's ACLs directly in HNS: the verdict follows what is programmed, not the policies.
  const reopened = await openTestHost(t, { stateFile: host.stateFile });
  await writeAcls(reopened, endpoints.get('web')!, []);
  await reopened.close();
  const drifted = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5', '--port', '81');
  t.is(drifted.code, 0, drifted.stderr);
  t.regex(drifted.stdout, /ingress at 10\.244\.1\.5 .*allowed: no ACL: not isolated/);
  // No daemon was named: nothing to compare with, and the report says so.
  t.regex(drifted.stdout, /Kubernetes semantics: not compared: which daemon\? give --healthz-port/);
});

/**
 * A health server answering /policy/flow over `world` with the daemon's own route and
 * evaluator, as a running daemon would from its cluster view.
 */
async function policyServer(t: Parameters<typeof openTestHost>[0]) {
  const state = stateOf(world);
  const server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    state: { ready: () => true, status: () => ({}), policyFlow: (params) => answerPolicyFlow(params, { explainFlow: (q) => answerFlowQuestion(state, q) }) },
    log: createLogger({ level: 'silent' }),
  });
  t.teardown(() => server.close());
  return `http://${server.address}`;
}

test('explain resolves namespace/pod through the daemon and holds the programmed verdict against Kubernetes semantics', async (t) => {
  const { host, endpoints } = await hostWithCompiledAcls(t);
  const server = await policyServer(t);

  const allowed = await explain(host.stateFile, '--from', 'default/db', '--to', 'default/web', '--port', '80', '--server', server);
  t.is(allowed.code, 0, allowed.stderr);
  t.regex(allowed.stdout, /^10\.244\.1\.6 \(default\/db\) -> 10\.244\.1\.5 \(default\/web\) tcp\/80: ALLOWED/);
  t.regex(allowed.stdout, /ingress at 10\.244\.1\.5 \(default\/web, endpoint .*allowed by flannel-win:in:default\/allow-db:0:\d+/);
  t.regex(allowed.stdout, /Kubernetes semantics \(the daemon's view of the current policies\): ALLOWED/);
  t.regex(allowed.stdout, /ingress at default\/web \(this node\): allowed by NetworkPolicy default\/allow-db ingress rule 0/);
  t.regex(allowed.stdout, /^MATCH: /m);

  const blocked = await explain(host.stateFile, '--from', 'default/db', '--to', '10.244.1.5', '--port', '81', '--server', server, '-o', 'json');
  t.is(blocked.code, EXIT_BLOCKED, blocked.stderr);
  t.like(JSON.parse(blocked.stdout), {
    allowed: false,
    ingress: { ruleId: 'flannel-win:block:in' },
    kubernetes: { allowed: false, ingress: { reason: 'no-rule', isolatedBy: ['default/allow-db'] } },
    comparison: { made: true, match: true },
  });

  // web's ACLs stripped on the host: HNS now lets 81 in, the policies do not.
  const reopened = await openTestHost(t, { stateFile: host.stateFile });
  await writeAcls(reopened, endpoints.get('web')!, []);
  await reopened.close();
  const drifted = await explain(host.stateFile, '--from', 'default/db', '--to', 'default/web', '--port', '81', '--server', server);
  t.is(drifted.code, EXIT_MISMATCH, drifted.stderr);
  t.regex(drifted.stdout, /ALLOWED by the programmed ACLs/);
  t.regex(drifted.stdout, /^MISMATCH \(drift or a bug\): programmed ACLs allow, Kubernetes semantics block: ingress at default\/web: isolated by default\/allow-db; no rule of them allows this$/m);
  t.regex(drifted.stdout, /repairs ACLs changed on the host at its next resync/);
});

test('explain without the daemon: addresses are explained and not compared, namespace/pod fails naming why', async (t) => {
  const { host } = await hostWithCompiledAcls(t);
  const daemon = await policyServer(t);
  // A port nobody listens on: the daemon is down.
  const closedPort = `http://127.0.0.1:${await freePort()}`;
  const byIp = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5', '--port', '81', '--server', closedPort);
  t.is(byIp.code, EXIT_BLOCKED, byIp.stderr);
  t.regex(byIp.stdout, /Kubernetes semantics: not compared: no answer from http:\/\/127\.0\.0\.1:\d+\/policy\/flow/);
  const byName = await explain(host.stateFile, '--from', 'default/db', '--to', '10.244.1.5', '--port', '80', '--server', closedPort);
  t.is(byName.code, 1);
  t.regex(byName.stderr, /default\/db: namespace\/pod is resolved by the running daemon, which gave no answer: no answer from/);
  // The daemon answers but knows no such pod.
  const ghost = await explain(host.stateFile, '--from', 'default/ghost', '--to', '10.244.1.5', '--port', '80', '--server', daemon);
  t.is(ghost.code, 1);
  t.regex(ghost.stderr, /refused the question: pod default\/ghost does not exist/);
});

test('explain refuses a flow that touches no local pod (1) and bad input (2)', async (t) => {
  const { host } = await hostWithCompiledAcls(t);
  const foreign = await explain(host.stateFile, '--from', '10.244.2.7', '--to', '10.244.3.8', '--port', '80');
  t.is(foreign.code, 1);
  t.regex(foreign.stderr, /neither 10\.244\.2\.7 nor 10\.244\.3\.8 is a pod endpoint/);
  const notAnEnd = await explain(host.stateFile, '--from', 'Default/DB', '--to', '10.244.1.5', '--port', '80');
  t.is(notAnEnd.code, 2);
  t.regex(notAnEnd.stderr, /--from "Default\/DB" is neither namespace\/pod nor an IPv4 address/);
  const noPort = await explain(host.stateFile, '--from', '10.244.1.6', '--to', '10.244.1.5');
  t.is(noPort.code, 2);
  t.regex(noPort.stderr, /--port is required/);
});
