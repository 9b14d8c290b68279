import test from 'ava';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tar from 'tar';
import { DaemonProcess } from '../support/daemon-process.js';
import { SimHostFile, simDaemonArgs, startReady } from '../support/e2e-host.js';
import { freePort } from '../support/free-port.js';

const PASSWORD = 'Pw-S3cret-77';
const KEY_MATERIAL = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

test('support-bundle: one tar.gz with status, logs, HNS, routes, subnet.env and the CNI config, and no secret in it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bundle-test-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const daemonArgs = [
    '--local-subnet-mgr', `--local-lease-file=${join(dir, 'leases.json')}`, ...simDaemonArgs(host, dir, port),
    `--cni-conf-file=${join(dir, '10-flannel.conflist')}`,
  ];
  const daemon = await startReady(daemonArgs, port);
  t.teardown(() => daemon.stop());

  // What an operator's node holds: an etcd password and key on the command line, a log that
  // (through some library's debug line) carries a bearer token, the password and a key.
  const keyFile = join(dir, 'etcd-key.pem');
  await writeFile(keyFile, `-----BEGIN PRIVATE KEY-----\n${KEY_MATERIAL}\n-----END PRIVATE KEY-----\n`);
  const logFile = join(dir, 'flannel-win.log');
  await writeFile(logFile, [...daemon.rawStderr, `{"level":"debug","msg":"request","headers":{"authorization":"Bearer ${TOKEN}"}}`, `{"level":"debug","msg":"etcd auth with ${PASSWORD}"}`, `-----BEGIN RSA PRIVATE KEY-----\n${KEY_MATERIAL}\n-----END RSA PRIVATE KEY-----`, ''].join('\n'));

  const archive = join(dir, 'bundle.tar.gz');
  const run = DaemonProcess.start(['support-bundle', '-o', archive, `--log-file=${logFile}`, ...daemonArgs, `--etcd-password=${PASSWORD}`, `--etcd-keyfile=${keyFile}`]);
  const { code } = await run.exited;
  t.is(code, 0, run.rawStderr.join('\n'));
  t.is(run.stdout.trim(), archive);

  const listed: string[] = [];
  await tar.list({ file: archive, onReadEntry: (entry) => void listed.push(entry.path.replace(/^[^/]+\//, '')) });
  t.deepEqual(
    listed.filter((p) => p !== '' && !p.endsWith('/')).sort(),
    [
      'NOTES.txt', 'cni/cni-config.conflist', 'flags.json', 'hns/endpoints.json', 'hns/networks.json', 'host/interfaces.json', 'host/routes-ipv4.json',
      'logs/flannel-win.log', 'metrics.txt', 'status.json', 'subnet.env', 'version.txt',
    ],
  );

  const out = join(dir, 'extracted');
  await mkdir(out);
  await tar.extract({ file: archive, cwd: out });
  const all = await filesUnder(out);
  for (const file of all) {
    const text = await readFile(join(out, file), 'utf8');
    for (const secret of [PASSWORD, KEY_MATERIAL, TOKEN]) t.false(text.includes(secret), `${secret.slice(0, 12)}… appears in ${file}`);
  }
  const top = join(out, (await readdir(out))[0]!);
  const status = JSON.parse(await readFile(join(top, 'status.json'), 'utf8')) as { ready: boolean };
  t.true(status.ready);
  const flags = JSON.parse(await readFile(join(top, 'flags.json'), 'utf8')) as { etcdPassword: string; etcdKeyfile: string };
  t.is(flags.etcdPassword, '<redacted>');
  t.is(flags.etcdKeyfile, keyFile, 'the key file path is kept (its content never goes in)');
  const networks = JSON.parse(await readFile(join(top, 'hns/networks.json'), 'utf8')) as Array<{ Name: string }>;
  t.deepEqual(networks.map((n) => n.Name), ['flannel.4096']);
  t.is(await readFile(join(top, 'subnet.env'), 'utf8'), await readFile(join(dir, 'subnet.env'), 'utf8'));
  const log = await readFile(join(top, 'logs/flannel-win.log'), 'utf8');
  t.regex(log, /flannel-win starting/);
  t.regex(log, /Bearer <redacted>/);
});
