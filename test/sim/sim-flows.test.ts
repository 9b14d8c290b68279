import test from 'ava';
import { runSimCommand } from '../../src/cli/sim-command.js';
import type { AclPolicySetting, EndpointPolicy } from '../../src/hns/types.js';
import { OUR_ACL_ID_PREFIX } from '../../src/policy/acl-id.js';
import type { FlowMatrix } from '../../src/sim/flow-matrix.js';
import { openTestHost, overlayNetwork } from './sim-fixture.js';

const P = OUR_ACL_ID_PREFIX;

async function sim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runSimCommand(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const acl = (s: AclPolicySetting): EndpointPolicy => ({ Type: 'ACL', Settings: s }) as EndpointPolicy;

/**
 * Three pods, policies from the Kubernetes documentation's patterns:
 * - db: ingress isolated, allowed from the node and from web on TCP 80 ("allow from one app");
 * - other: egress isolated with nothing allowed ("default deny all egress"), ingress open;
 * - web: no policy, no ACL.
 */
async function scenario(t: Parameters<typeof openTestHost>[0]) {
  const host = await openTestHost(t);
  await host.hns.createNetwork(overlayNetwork());
  await host.close();
  const ids: Record<string, string> = {};
  for (const [name, ip] of [['web', '10.244.1.5'], ['db', '10.244.1.6'], ['other', '10.244.1.7']] as const) {
    const r = await sim(['endpoint', 'add', '--sim-state', host.stateFile, '--ip', ip, '--name', name]);
    t.is(r.code, 0, r.stderr);
    ids[name] = r.stdout.trim();
  }
  const writer = await openTestHost(t, { stateFile: host.stateFile });
  const program = async (id: string, acls: AclPolicySetting[]): Promise<void> => {
    const others = ((await writer.hns.getEndpoint(id)).Policies ?? []).filter((p) => p.Type !== 'ACL');
    await writer.hns.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [...others, ...acls.map(acl)] } });
  };
  await program(ids['db']!, [
    { Id: `${P}node:in`, Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 900, RemoteAddresses: '192.168.1.10/32' },
    { Id: `${P}in:default/db-from-web:0:0`, Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 1000, Protocols: '6', RemoteAddresses: '10.244.1.5/32', LocalPorts: '80' },
    { Id: `${P}block:in`, Action: 'Block', Direction: 'In', RuleType: 'Switch', Priority: 1001 },
    { Id: `${P}open:out`, Action: 'Allow', Direction: 'Out', RuleType: 'Switch', Priority: 1002 },
  ]);
  await program(ids['other']!, [
    { Id: `${P}open:in`, Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 1000 },
    { Id: `${P}block:out`, Action: 'Block', Direction: 'Out', RuleType: 'Switch', Priority: 1001 },
  ]);
  await writer.close();
  return { stateFile: host.stateFile, ids };
}

test('flows -o json: the reachability the programmed ACLs give, with the deciding rule of each side', async (t) => {
  const { stateFile, ids } = await scenario(t);
  const r = await sim(['flows', '--sim-state', stateFile, '-o', 'json']);
  t.is(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as FlowMatrix;
  t.is(m.network, 'flannel.4096');
  t.like(m, { protocol: 6, port: 80, nodeIp: '192.168.1.10' });
  const name = (id: string): string => (id === 'node' ? 'node' : Object.entries(ids).find(([, v]) => v === id)![0]);
  const reach = Object.fromEntries(m.flows.map((f) => [`${name(f.from)}>${name(f.to)}`, f.allowed]));
  t.deepEqual(reach, {
    'node>web': true, 'db>web': true, 'other>web': false,
    'node>db': true, 'web>db': true, 'other>db': false,
    'node>other': true, 'web>other': true, 'db>other': true,
  });
  const flow = (from: string, to: string) => m.flows.find((f) => f.from === (from === 'node' ? 'node' : ids[from]) && f.to === ids[to])!;
  t.deepEqual(flow('web', 'db').ingress, { allowed: true, reason: 'rule', ruleId: `${P}in:default/db-from-web:0:0`, ambiguous: false });
  t.deepEqual(flow('web', 'db').egress, { allowed: true, reason: 'no-acl', ambiguous: false });
  t.deepEqual(flow('other', 'db').egress, { allowed: false, reason: 'rule', ruleId: `${P}block:out`, ambiguous: false });
  t.is(flow('node', 'db').ingress.ruleId, `${P}node:in`);
  t.is(flow('node', 'db').egress, undefined);
  t.deepEqual(m.endpoints.map((e) => [e.name, e.ip, e.acls]), [['web', '10.244.1.5', 0], ['db', '10.244.1.6', 4], ['other', '10.244.1.7', 2]]);
});

test('flows on another port: the allow for port 80 no longer applies, the default deny decides', async (t) => {
  const { stateFile, ids } = await scenario(t);
  const m = JSON.parse((await sim(['flows', '--sim-state', stateFile, '-o', 'json', '--port', '5432'])).stdout) as FlowMatrix;
  const webToDb = m.flows.find((f) => f.from === ids['web'] && f.to === ids['db'])!;
  t.false(webToDb.allowed);
  t.is(webToDb.ingress.ruleId, `${P}block:in`);
  const udp = JSON.parse((await sim(['flows', '--sim-state', stateFile, '-o', 'json', '--protocol', 'udp'])).stdout) as FlowMatrix;
  t.false(udp.flows.find((f) => f.from === ids['web'] && f.to === ids['db'])!.allowed, 'the allow is TCP only');
});

test('flows as text: a matrix, the endpoints, and one line per flow naming the deciding rules', async (t) => {
  const { stateFile } = await scenario(t);
  const r = await sim(['flows', '--sim-state', stateFile]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines[0], 'Flows tcp/80 between the local pod endpoints of network "flannel.4096"');
  t.regex(r.stdout, /^from \\ to +10\.244\.1\.5 +10\.244\.1\.6 +10\.244\.1\.7$/m);
  t.regex(r.stdout, /^node 192\.168\.1\.10 +allow +allow +allow$/m);
  t.regex(r.stdout, /^10\.244\.1\.7 +deny +deny +-$/m);
  t.regex(r.stdout, /^10\.244\.1\.5 +10\.244\.1\.6 +allow +allow no-acl +allow flannel-win:in:default\/db-from-web:0:0$/m);
  t.regex(r.stdout, /^10\.244\.1\.7 +10\.244\.1\.6 +deny +deny flannel-win:block:out +deny flannel-win:block:in$/m);
});

test('flows marks a verdict HNS cannot be relied on, and shows an empty address list as HNS reads it (any)', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const a = await host.hns.createEndpoint(network.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '10.244.1.5' }] });
  await host.hns.createEndpoint(network.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '10.244.1.6' }] });
  await host.hns.modifyEndpoint(a.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [
    acl({ Id: 'tie-allow', Action: 'Allow', Direction: 'In', Priority: 1000, RemoteAddresses: '' }),
    acl({ Id: 'tie-block', Action: 'Block', Direction: 'In', Priority: 1000 }),
  ] } });
  await host.close();
  const m = JSON.parse((await sim(['flows', '--sim-state', host.stateFile, '-o', 'json'])).stdout) as FlowMatrix;
  const into = m.flows.find((f) => f.from !== 'node' && f.to === a.ID)!;
  t.deepEqual(into.ingress, { allowed: true, reason: 'rule', ruleId: 'tie-allow', ambiguous: true });
  t.regex((await sim(['flows', '--sim-state', host.stateFile])).stdout, /AMBIGUOUS: same Priority, other Action/);
});

test('flows refuses a bad protocol or port and a missing host, naming the value', async (t) => {
  const host = await openTestHost(t);
  await host.hns.createNetwork(overlayNetwork());
  await host.close();
  for (const [args, message] of [
    [['--protocol', 'quic'], /--protocol "quic" is not tcp, udp, sctp, icmp or a protocol number/],
    [['--port', '0'], /--port "0" is not a port number/],
    [['--port', '99999'], /--port "99999" is not a port number/],
  ] as const) {
    const r = await sim(['flows', '--sim-state', host.stateFile, ...args]);
    t.is(r.code, 1);
    t.regex(r.stderr, message);
  }
  const missing = await sim(['flows', '--sim-state', `${host.stateFile}.nope`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /does not exist/);
});
