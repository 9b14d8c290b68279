import { FlannelWinError } from '../errors.js';

/** The operator's choice of daemon: its health server as the daemon was started, or a URL. */
export interface DaemonAddressOptions {
  server?: string | undefined;
  healthzIp?: string | undefined;
  healthzPort?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * The base URL of a running daemon's health server: `--server` as given, else `--healthz-ip`
 * and `--healthz-port` (or FLANNELD_HEALTHZ_IP/PORT, as the daemon reads them). A wildcard
 * address (the daemon's default 0.0.0.0) is reached on loopback, where /status answers.
 */
export function daemonBaseUrl(options: DaemonAddressOptions): URL {
  if (options.server !== undefined && options.server !== '') {
    try {
      return new URL(options.server);
    } catch {
      throw new FlannelWinError('BAD_SERVER_URL', `--server "${options.server.slice(0, 100)}" is not a URL (e.g. http://127.0.0.1:9938)`, { server: options.server.slice(0, 100) });
    }
  }
  const portText = options.healthzPort ?? options.env['FLANNELD_HEALTHZ_PORT'] ?? '';
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FlannelWinError(
      'NO_HEALTH_SERVER',
      portText === '' ? 'which daemon? give --healthz-port (as the daemon was started) or --server URL' : `--healthz-port "${portText.slice(0, 20)}" is not a port (1..65535)`,
      { healthzPort: portText.slice(0, 20) },
    );
  }
  let host = options.healthzIp ?? options.env['FLANNELD_HEALTHZ_IP'] ?? '127.0.0.1';
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return new URL(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

/** GET `path` from the daemon's health server; throws naming the URL when it cannot answer. */
export async function fetchFromDaemon(base: URL, path: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const url = new URL(path, base);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new FlannelWinError('DAEMON_UNREACHABLE', `no answer from ${url.href}: ${cause} (is flannel-win running with --healthz-port?)`, { url: url.href });
  }
}
