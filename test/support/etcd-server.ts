import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface EtcdServer {
  /** `http://127.0.0.1:<port>` (`https://` with TLS), usable as an etcd3 host and as `--etcd-endpoints`. */
  readonly endpoint: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

/** Server-side TLS for the test etcd: PEM files of its certificate and key (see kube-tls.ts). */
export interface EtcdServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA's PEM text, to check the server's health over https. */
  readonly caCert: string;
}

async function healthy(endpoint: string, tls: EtcdServerTls | undefined): Promise<boolean> {
  if (tls) return httpsHealthy(`${endpoint}/health`, tls.caCert);
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
  if (res?.status !== 200) return false;
  const body = (await res.json().catch(() => undefined)) as { health?: string } | undefined;
  return body?.health === 'true';
}

/** fetch cannot take a private CA, so the TLS health check uses node:https. */
function httpsHealthy(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(url, { ca, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startOnce(tls: EtcdServerTls | undefined): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flannel-win-etcd-'));
  const clientPort = await freeLoopbackPort();
  const peerPort = await freeLoopbackPort();
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name=test',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=test=${peer}`,
      '--logger=zap',
      '--log-level=error',
      ...(tls ? [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // waitFor retries on a thrown error, so a dead etcd is reported as a value, not thrown.
    const outcome = await waitFor(
      async () => {
        if (spawnError || child.exitCode !== null) return 'dead';
        return (await healthy(endpoint, tls)) ? 'healthy' : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `etcd healthy at ${endpoint}` },
    );
    if (outcome === 'dead') {
      throw new Error(
        spawnError ? `cannot run etcd (run scripts/ensure-etcd.sh): ${spawnError.message}` : `etcd exited with ${child.exitCode}`,
      );
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\netcd stderr: ${stderr}`);
  }
  return { endpoint, dataDir, stop };
}

/**
 * Starts a private etcd (the `etcd` binary on PATH) on free loopback ports with a temporary data
 * dir and waits until it reports healthy. A port taken between probing and binding is retried.
 * With `tls`, clients must speak TLS to it (server certificate only, no client authentication).
 */
export async function startEtcd(options: { tls?: EtcdServerTls } = {}): Promise<EtcdServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options.tls);
    } catch (err) {
      lastError = err;
      if (/ENOENT|cannot run etcd/.test((err as Error).message)) break;
    }
  }
  throw lastError;
}

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`, forwarding to the target. */
  readonly endpoint: string;
  /** Drops every open connection and refuses new ones until `resume`, like a network outage. */
  cut(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * A TCP forwarder in front of etcd, so a test can cut a client's connection (a watch then has to
 * resume) while the test itself still talks to etcd directly.
 */
export async function startTcpProxy(targetEndpoint: string): Promise<TcpProxy> {
  const target = new URL(targetEndpoint);
  const sockets = new Set<Socket>();
  let isCut = false;
  const server: Server = createServer((inbound) => {
    if (isCut) {
      inbound.destroy();
      return;
    }
    const outbound = connect(Number(target.port), target.hostname);
    sockets.add(inbound);
    sockets.add(outbound);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const cut = (): void => {
    isCut = true;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    cut,
    resume() {
      isCut = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
