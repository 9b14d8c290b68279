import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { FlannelWinError } from '../../errors.js';

export interface EtcdTlsFiles {
  /** Optional, as in flannel: without it the system roots verify the server. */
  caFile?: string | undefined;
  certFile: string;
  keyFile: string;
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
 * Builds the etcd3 client options. TLS is used when a client cert and key are given (flannel's
 * rule); unary calls get a deadline, streams (watches) do not.
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
  // flannel: TLS only when both a client cert and key are given; otherwise plaintext.
  if (options.tls && options.tls.certFile && options.tls.keyFile) {
    clientOptions.credentials = {
      // etcd3 types the root as required, but grpc falls back to the system roots when absent.
      rootCertificate: options.tls.caFile ? readPem(options.tls.caFile, 'CA file') : (undefined as unknown as Buffer),
      certChain: readPem(options.tls.certFile, 'certificate file'),
      privateKey: readPem(options.tls.keyFile, 'key file'),
    };
  }
  if (options.username !== undefined && options.username !== '') {
    clientOptions.auth = { username: options.username, password: options.password ?? '' };
  }
  return clientOptions;
}

/** True when `etcdClientOptions` will use TLS for these options. */
export function usesTls(options: EtcdConnectionOptions): boolean {
  return Boolean(options.tls && options.tls.certFile && options.tls.keyFile);
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
