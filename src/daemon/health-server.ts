import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';

export interface HealthState {
  /**
   * True while the node can network pods: subnet.env written, the HNS network present, every
   * controller converged once (false again while a lost network is recreated).
   */
  ready(): boolean;
  /** Extra detail for /status: the daemon's view of itself. */
  status(): Record<string, unknown>;
  /** `/policy/flow`: one connection by Kubernetes NetworkPolicy semantics (absent: 404). */
  policyFlow?(params: URLSearchParams): { status: number; body: unknown };
}

/** Routes that tell more than liveness: loopback-only unless --healthz-ip is explicit. */
const DETAIL_PATHS: ReadonlySet<string> = new Set(['/status', '/metrics', '/policy/flow']);

/**
 * flanneld's health endpoints (/healthz, /readyz with the same bodies) plus /metrics
 * (Prometheus text) and /status (JSON) for operators.
 */
export async function startHealthServer(options: {
  host: string;
  port: number;
  state: HealthState;
  metrics?: Registry | undefined;
  /** Answer /status and /metrics to loopback clients only (set when --healthz-ip is not explicit). */
  detailFromLoopbackOnly?: boolean | undefined;
  log: Logger;
}): Promise<{ server: Server; address: string; close(): Promise<void> }> {
  const { state, metrics, log } = options;
  const server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') return send(200, 'flanneld is running');
    if (path === '/readyz') return state.ready() ? send(200, 'flanneld is ready') : send(503, 'flanneld is not ready yet');
    if (DETAIL_PATHS.has(path) && options.detailFromLoopbackOnly && !isLoopbackAddress(req.socket.remoteAddress)) {
      return send(403, `${path} answers loopback clients only; start with an explicit --healthz-ip to serve it on that address`);
    }
    if (path === '/status') return send(200, JSON.stringify(state.status(), null, 2), 'application/json');
    if (path === '/policy/flow' && state.policyFlow) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'GET only');
      const reply = state.policyFlow(new URLSearchParams(query));
      return send(reply.status, `${JSON.stringify(reply.body, null, 2)}\n`, 'application/json');
    }
    if (path === '/metrics' && metrics) {
      metrics.metrics().then(
        (text) => send(200, text, metrics.contentType),
        (err: unknown) => send(500, String(err)),
      );
      return;
    }
    send(404, 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr);
  log.info({ address }, 'health server listening (/healthz, /readyz, /status, /metrics, /policy/flow)');
  return {
    server,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // flanneld gives the health server 3 s; idle keep-alive sockets must not hold shutdown.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 3000).unref();
      }),
  };
}

/** 127.0.0.0/8, ::1, or an IPv4-mapped loopback address, as a socket reports its peer. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
