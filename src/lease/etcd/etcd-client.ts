import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { FlannelWinError } from '../../errors.js';

/**
 * --etcd-cafile, --etcd-certfile, --etcd-keyfile. Any one of them turns TLS on: the CA alone is
 * server-only TLS (the server verified against it, no client certificate); cert and key add a
 * client certificate and must come together; without a CA the system roots verify the server.
 */
export interface EtcdTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface EtcdConnectionOptions {
  endpoints: readonly string[];
  tls?: EtcdTlsFiles | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Deadline for each unary call; a hung connection must not block a retry loop forever. */
  callTimeoutMs?: number | undefined;
}

export class EtcdConfigError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('ETCD_CONFIG_INVALID', message, context);
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EtcdConfigError(`cannot read etcd ${what} "${path}": ${(err as Error).message}`, { path, what });
  }
}

/**
 * Builds the etcd3 client options. TLS is used when any TLS file is given (flannel uses it only
 * when both a client cert and key are given, and silently ignores a lone CA file, which makes a
 * server-only TLS etcd unreachable); unary calls get a deadline, streams (watches) do not.
 */
export function etcdClientOptions(options: EtcdConnectionOptions): IOptions {
  if (options.endpoints.length === 0) throw new EtcdConfigError('no etcd endpoints given', {});
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const clientOptions: IOptions = {
    hosts: [...options.endpoints],
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    grpcOptions: {
      // grpc's default reconnect back-off grows to two minutes; flannel's watch caps at 5 s.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 5_000,
      // Detects a half-open connection (e.g. across the HNS vSwitch outage). etcd accepts
      // pings no more often than every 5 s by default.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    },
  };
  const tls = options.tls;
  if (hasTlsFiles(options) && tls) {
    if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
      const [given, missing] = tls.certFile ? ['--etcd-certfile', '--etcd-keyfile'] : ['--etcd-keyfile', '--etcd-certfile'];
      throw new EtcdConfigError(`${given} was given without ${missing}: a client certificate needs both`, { given, missing });
    }
    clientOptions.credentials = {
      // etcd3 types the root as required, but grpc falls back to the system roots when absent.
      rootCertificate: tls.caFile ? readPem(tls.caFile, 'CA file') : (undefined as unknown as Buffer),
      ...(tls.certFile && tls.keyFile ? { certChain: readPem(tls.certFile, 'certificate file'), privateKey: readPem(tls.keyFile, 'key file') } : {}),
    };
  }
  if (options.username !== undefined && options.username !== '') {
    clientOptions.auth = { username: options.username, password: options.password ?? '' };
  }
  return clientOptions;
}

function hasTlsFiles(options: EtcdConnectionOptions): boolean {
  return Boolean(options.tls && (options.tls.caFile || options.tls.certFile || options.tls.keyFile));
}

/**
 * True when the client will use TLS: any TLS file was given, or an endpoint is https:// (etcd3
 * then uses TLS with the system roots for every endpoint).
 */
export function usesTls(options: EtcdConnectionOptions): boolean {
  return hasTlsFiles(options) || options.endpoints.some((endpoint) => endpoint.toLowerCase().startsWith('https://'));
}

/** The log line that says how we talk to etcd, naming the flags that decided it. */
export function describeEtcdTransport(options: EtcdConnectionOptions): string {
  if (!usesTls(options)) return 'connecting to etcd without TLS (no https:// endpoint and none of --etcd-cafile, --etcd-certfile, --etcd-keyfile given)';
  const server = options.tls?.caFile ? 'server verified against --etcd-cafile' : 'server verified against the system roots (no --etcd-cafile)';
  const client = options.tls?.certFile ? 'client certificate from --etcd-certfile/--etcd-keyfile' : 'no client certificate';
  return `connecting to etcd with TLS: ${server}; ${client}`;
}

export function createEtcdClient(options: EtcdConnectionOptions): Etcd3 {
  return new Etcd3(etcdClientOptions(options));
}

/** The exclusive end of a prefix range: the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
