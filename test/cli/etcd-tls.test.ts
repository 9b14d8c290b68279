import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';
import { isReady, SimHostFile, simDaemonArgs } from '../support/e2e-host.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { testTlsMaterial } from '../support/kube-tls.js';
import { waitFor } from '../support/wait.js';

// etcd with server-only TLS: it presents a certificate signed by a private CA and asks for no
// client certificate. Reaching it needs exactly --etcd-cafile, which used to be ignored.
const PREFIX = '/tls/network';
const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';

let etcd: EtcdServer;
let client: Etcd3;
let caFile: string;

test.before(async () => {
  const material = await testTlsMaterial();
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-etcd-tls-'));
  caFile = join(dir, 'ca.crt');
  await writeFile(caFile, material.caCert);
  await writeFile(join(dir, 'server.crt'), material.serverCert);
  await writeFile(join(dir, 'server.key'), material.serverKey);
  etcd = await startEtcd({ tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caCert: material.caCert } });
  client = new Etcd3({ hosts: etcd.endpoint, credentials: { rootCertificate: Buffer.from(material.caCert) } });
  await client.put(`${PREFIX}/config`).value(NET_CONF);
});

test.after.always(async () => {
  client?.close();
  await etcd?.stop();
});

function startAgainstTlsEtcd(t: { teardown(fn: () => unknown): void }, prefix: string, dir: string, port: number, env: Record<string, string> = {}): DaemonProcess {
  const host = new SimHostFile(join(dir, 'host.json'));
  const daemon = DaemonProcess.start([`--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, `--etcd-cafile=${caFile}`, ...simDaemonArgs(host, dir, port)], env);
  t.teardown(() => daemon.stop());
  return daemon;
}

test.serial('--etcd-cafile alone reaches an etcd with server-only TLS and says so in the log', async (t) => {
  t.true(etcd.endpoint.startsWith('https://'));
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-tls-'));
  const port = await freePort();
  const daemon = startAgainstTlsEtcd(t, PREFIX, dir, port);

  // The lease went through the TLS connection: our key is in etcd with our PublicIP, and the
  // daemon gets ready on it.
  const ours = await waitFor(
    async () => {
      const leases = await client.getAll().prefix(`${PREFIX}/subnets/`).strings();
      return Object.entries(leases).filter(([, value]) => value.includes('"PublicIP":"192.168.1.10"')).length === 1;
    },
    { timeoutMs: 60_000, what: 'our lease in the TLS etcd' },
  );
  t.true(ours);
  await waitFor(() => isReady(port), { timeoutMs: 60_000, what: 'readiness over TLS' });

  const transport = daemon.logs.find((l) => /connecting to etcd/.test(l.msg));
  t.is(transport?.msg, 'connecting to etcd with TLS: server verified against --etcd-cafile; no client certificate');
  t.is(transport?.level, 30);
  t.false(daemon.logs.some((l) => /without TLS/.test(l.msg)));
});

test.serial("Node's warnings go through the JSON logger: every stderr line of a run is JSON", async (t) => {
  // NODE_TLS_REJECT_UNAUTHORIZED=0 makes Node warn at the first TLS connection, which Node's
  // default printer writes as plain text.
  await client.put('/tls-warning/network/config').value(NET_CONF);
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-tls-'));
  const daemon = startAgainstTlsEtcd(t, '/tls-warning/network', dir, await freePort(), { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
  const warning = await daemon.waitForLog((l) => l.msg.startsWith('node: ') && /NODE_TLS_REJECT_UNAUTHORIZED/.test(l.msg), 'the TLS warning as a JSON log line', 60_000);
  t.is(warning.level, 40);
  t.is(warning['warning'], 'Warning');
  const { code } = await daemon.stop();
  t.is(code, 0);
  t.true(daemon.rawStderr.length > 5);
  const notJson = daemon.rawStderr.filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });
  t.deepEqual(notJson, []);
});
