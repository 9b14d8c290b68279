/**
 * `flannel-win status`: asks a running daemon's health server for /status and prints a summary
 * (or the document itself with -o json). Exit codes: 0 the daemon answered, 1 it did not (or
 * refused), 2 a usage error.
 * @module
 */
import { parseArgs } from 'node:util';
import { describeError } from '../errors.js';
import { daemonBaseUrl, fetchFromDaemon } from './daemon-address.js';
import { renderStatus } from './status-report.js';
import type { SimCommandIo } from './sim-command.js';

export const STATUS_USAGE = `Usage: flannel-win status [--healthz-ip IP] [--healthz-port N | --server URL] [-o text|json]

Asks the running daemon (its health server, as started with --healthz-ip/--healthz-port, or
FLANNELD_HEALTHZ_IP/PORT) for /status: version, uptime, readiness and why not, lease and expiry,
network, every peer and its programmed state, policy, source VIP, store, resync and drift.
Exit codes: 0 the daemon answered, 1 it did not, 2 usage error.
`;

const OPTIONS = {
  'healthz-ip': { type: 'string' },
  'healthz-port': { type: 'string' },
  server: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `status`; `argv` is what follows the word. Returns the exit code. */
export async function runStatusCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: SimCommandIo): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }).values;
    if (values.output !== 'text' && values.output !== 'json') throw new Error(`-o must be text or json, not "${values.output.slice(0, 32)}"`);
  } catch (err) {
    io.stderr(`flannel-win status: ${describeError(err)}\n${STATUS_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(STATUS_USAGE);
    return 0;
  }
  try {
    const base = daemonBaseUrl({ server: values.server, healthzIp: values['healthz-ip'], healthzPort: values['healthz-port'], env });
    const { status, text } = await fetchFromDaemon(base, '/status');
    if (status !== 200) {
      io.stderr(`flannel-win status: ${new URL('/status', base).href} answered ${status}: ${text.slice(0, 300)}\n`);
      return 1;
    }
    const doc = JSON.parse(text) as Record<string, unknown>;
    io.stdout(values.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderStatus(doc));
    return 0;
  } catch (err) {
    io.stderr(`flannel-win status: ${describeError(err)}\n`);
    return 1;
  }
}
