/**
 * `flannel-win support-bundle [-o FILE]`: one tar.gz an operator attaches to a bug report:
 * version, the flags (secrets redacted), /status and /metrics when the daemon answers, recent
 * logs (--log-file), the HNS networks and endpoints with their policies, the route table and
 * interfaces, subnet.env, the CNI config and the source VIP file. Read-only: the host is read
 * through a view that refuses writes, the store is not contacted. Every text goes through
 * the secret redaction. Exit codes: 0 written, 1 an error.
 * @module
 */
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as tar from 'tar';
import { versionText } from '../build-info.js';
import { envNameFor, parseFlags, type DaemonFlags } from '../config/flags.js';
import { describeError, FlannelWinError } from '../errors.js';
import { createLogger } from '../log.js';
import { daemonBaseUrl, fetchFromDaemon } from './daemon-address.js';
import { openReadOnlyHost } from './read-only-dataplane.js';
import { REDACTED, redactSecrets, SECRET_FLAGS } from './secret-redaction.js';
import type { SimCommandIo } from './sim-command.js';

export const SUPPORT_BUNDLE_USAGE = `Usage: flannel-win support-bundle [-o FILE] [--log-file FILE] [--server URL] [daemon flags...]

Writes one tar.gz for a bug report: version, flags (secrets redacted), /status and /metrics of
the running daemon (its --healthz-ip/--healthz-port, or --server URL), the last part of
--log-file, HNS networks and endpoints with their policies, routes and interfaces, subnet.env,
the CNI config and kube-proxy's source VIP file. Reads only; writes nothing but the archive.
Default FILE: flannel-win-support-<time>.tar.gz in the current directory.
`;

/** Only the end of a log goes in: the recent part is what explains a problem. */
const LOG_TAIL_BYTES = 4 * 1024 * 1024;

interface BundleOptions {
  output: string | undefined;
  logFile: string | undefined;
  server: string | undefined;
  rest: string[];
}

function splitBundleOptions(argv: readonly string[]): BundleOptions {
  const options: BundleOptions = { output: undefined, logFile: undefined, server: undefined, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^(-o|--?output|--?log-file|--?server)(?:=(.*))?$/.exec(arg);
    if (!m) {
      options.rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new FlannelWinError('USAGE', `${arg} needs a value`, {});
    const name = m[1]!.replace(/^-+/, '');
    if (name === 'o' || name === 'output') options.output = value;
    else if (name === 'log-file') options.logFile = value;
    else options.server = value;
  }
  return options;
}

/** The flags as the daemon would see them, secret values replaced. */
function redactedFlags(flags: DaemonFlags): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  if (flags.etcdPassword !== '') out['etcdPassword'] = REDACTED;
  return out;
}

/** Runs `support-bundle`; `argv` is what follows the word. Returns the exit code. */
export async function runSupportBundleCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, io: SimCommandIo, now = new Date()): Promise<number> {
  let options: BundleOptions;
  let flags: DaemonFlags;
  try {
    options = splitBundleOptions(argv);
    if (options.rest.includes('--help') || options.rest.includes('-h')) {
      io.stdout(SUPPORT_BUNDLE_USAGE);
      return 0;
    }
    flags = parseFlags(options.rest, { ...env }, platform);
  } catch (err) {
    io.stderr(`flannel-win support-bundle: ${describeError(err)}\n${SUPPORT_BUNDLE_USAGE}`);
    return 1;
  }
  const secrets = [flags.etcdPassword, ...SECRET_FLAGS.map((f) => env[envNameFor(f)] ?? '')].filter((s) => s !== '');
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const output = options.output ?? `flannel-win-support-${stamp}.tar.gz`;
  const top = `flannel-win-support-${stamp}`;
  const work = await mkdtemp(join(tmpdir(), 'flannel-win-bundle-'));
  const notes: string[] = [];
  const put = async (name: string, text: string) => {
    const path = join(work, top, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, redactSecrets(text, secrets));
  };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  /** One part of the bundle; a failure is noted in the bundle, never fatal. */
  const part = async (what: string, produce: () => Promise<void>) => {
    try {
      await produce();
    } catch (err) {
      notes.push(`${what}: ${describeError(err)}`);
    }
  };
  try {
    await put('version.txt', await versionText());
    await put('flags.json', json(redactedFlags(flags)));
    await part('/status', async () => {
      const base = daemonBaseUrl({ server: options.server, healthzIp: flags.healthzIp, healthzPort: String(flags.healthzPort || ''), env: {} });
      const status = await fetchFromDaemon(base, '/status');
      await put('status.json', status.status === 200 ? status.text : json({ httpStatus: status.status, body: status.text.slice(0, 1000) }));
      const metrics = await fetchFromDaemon(base, '/metrics');
      if (metrics.status === 200) await put('metrics.txt', metrics.text);
    });
    if (options.logFile !== undefined) {
      const logFile = options.logFile;
      await part(`log ${logFile}`, async () => put(`logs/${basename(logFile)}`, await tail(logFile, LOG_TAIL_BYTES)));
    } else {
      notes.push('logs: none included (pass --log-file with the file the service writes stderr to)');
    }
    await part('host', async () => {
      const host = await openReadOnlyHost({ dataplane: flags.dataplane, simState: flags.simState, platform, log: createLogger({ level: 'warn' }) });
      try {
        await put('hns/networks.json', json(await host.hns.listNetworks()));
        await put('hns/endpoints.json', json(await host.hns.listEndpoints()));
        await put('host/routes-ipv4.json', json(await host.routes.listRoutes('ipv4')));
        await put('host/interfaces.json', json(await host.routes.listInterfaces()));
      } finally {
        await host.close();
      }
    });
    const files: Array<[string, string]> = [
      ['subnet.env', flags.subnetFile],
      ['cni/cni-config.conflist', flags.cniConfFile],
      ['cni/source-vip.json', flags.sourceVipFile],
      ...(flags.kubeSubnetMgr ? ([['net-conf.json', flags.netConfigPath]] as Array<[string, string]>) : []),
    ];
    for (const [name, path] of files) {
      if (path === '') continue;
      await part(`${name} (${path})`, async () => put(name, await readFile(path, 'utf8')));
    }
    await put('NOTES.txt', `${['flannel-win support bundle', `created ${now.toISOString()}`, ...notes.map((n) => `- ${n}`)].join('\n')}\n`);
    await tar.create({ gzip: true, file: output, cwd: work, portable: true }, [top]);
    io.stdout(`${output}\n`);
    return 0;
  } catch (err) {
    io.stderr(`flannel-win support-bundle: ${describeError(err)}\n`);
    return 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}


/** The last `bytes` of a file (from the first full line in that window). */
async function tail(path: string, bytes: number): Promise<string> {
  const size = (await stat(path)).size;
  const start = Math.max(0, size - bytes);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    await handle.close();
  }
}
