import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { KubeConfigError } from './errors.js';

export interface KubeConfigFlags {
  /** `--kube-api-url`; "" when unset. */
  readonly kubeApiUrl: string;
  /** `--kubeconfig-file`; "" when unset. */
  readonly kubeconfigFile: string;
}

export interface KubeConfigEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fileExists: (path: string) => boolean;
}

/** TLS and authentication for one request, in the shape node:https takes. */
export interface KubeRequestOptions {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly servername?: string | undefined;
  readonly rejectUnauthorized: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

/** Where the API server is and how to talk to it. */
export interface KubeClientConfig {
  /** The API server's base URL, e.g. `https://10.0.0.1:6443`. */
  readonly server: string;
  /** Options for the next request: a token file is read again each time (it is rotated). */
  requestOptions(): Promise<KubeRequestOptions>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Builds the client configuration the way flanneld does (client-go BuildConfigFromFlags):
 * the kubeconfig file when given (its server replaced by `--kube-api-url` when both are set),
 * else the API URL alone, else the in-cluster service account, else the default kubeconfig
 * (KUBECONFIG, then ~/.kube/config).
 *
 * Tokens, token files, client certificates and CAs are read here, so the daemon does not load
 * the Kubernetes client library (its generated API costs ~60 MiB of memory). Anything rarer
 * (exec credential plugins, auth providers, several KUBECONFIG files) is handed to
 * `@kubernetes/client-node`, imported only then.
 * @throws KubeConfigError `KUBE_CONFIG` when the file cannot be read, has no current cluster or
 *   names a proxy (not supported).
 */
export function loadKubeConfig(
  flags: KubeConfigFlags,
  environment: KubeConfigEnvironment = { env: process.env, fileExists: existsSync },
): KubeClientConfig {
  const context = { ...flags };
  if (flags.kubeconfigFile !== '') return fromFile(flags.kubeconfigFile, flags.kubeApiUrl, context);
  if (flags.kubeApiUrl !== '') return staticConfig(flags.kubeApiUrl, { rejectUnauthorized: true, headers: {} });
  const { env, fileExists } = environment;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenPath = join(SERVICE_ACCOUNT_DIR, 'token');
  if (host && port && fileExists(tokenPath)) return inCluster(host, port, tokenPath, context);
  const listed = (env['KUBECONFIG'] ?? '').split(delimiter).filter((path) => path !== '' && fileExists(path));
  if (listed.length > 1) return delegated(listed.join(delimiter), '', context);
  const path = listed[0] ?? join(homedir(), '.kube', 'config');
  if (!fileExists(path)) throw new KubeConfigError('no --kubeconfig-file, no --kube-api-url, not in a cluster, and no default kubeconfig', { ...context, path });
  return fromFile(path, '', context);
}

interface KubeconfigDocument {
  readonly 'current-context'?: string;
  readonly clusters?: readonly { name?: string; cluster?: Record<string, unknown> }[];
  readonly users?: readonly { name?: string; user?: Record<string, unknown> }[];
  readonly contexts?: readonly { name?: string; context?: { cluster?: string; user?: string } }[];
}

function fromFile(path: string, serverOverride: string, context: Record<string, unknown>): KubeClientConfig {
  let doc: KubeconfigDocument;
  try {
    doc = (loadYaml(readFileSync(path, 'utf8')) ?? {}) as KubeconfigDocument;
  } catch (err) {
    throw new KubeConfigError(String(err), context, err);
  }
  const current = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters?.find((c) => c.name === current?.cluster)?.cluster;
  if (!current || !cluster || typeof cluster['server'] !== 'string') throw new KubeConfigError('no current cluster', context);
  const user = doc.users?.find((u) => u.name === current.user)?.user ?? {};
  if (cluster['proxy-url'] !== undefined) throw new KubeConfigError('proxy-url is not supported', { ...context, path });
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) return delegated(path, serverOverride, context);
  const base = dirname(path);
  const file = (key: string, dataKey: string, source: Record<string, unknown>): Buffer | undefined => {
    const data = source[dataKey];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const name = source[key];
    if (typeof name !== 'string') return undefined;
    try {
      return readFileSync(isAbsolute(name) ? name : join(base, name));
    } catch (err) {
      throw new KubeConfigError(`cannot read ${key} "${name}": ${String(err)}`, context, err);
    }
  };
  const tls = {
    ca: file('certificate-authority', 'certificate-authority-data', cluster),
    cert: file('client-certificate', 'client-certificate-data', user),
    key: file('client-key', 'client-key-data', user),
    servername: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
  };
  const server = serverOverride !== '' ? serverOverride : cluster['server'];
  const tokenFile = user['tokenFile'];
  if (typeof user['token'] === 'string') return staticConfig(server, { ...tls, headers: { authorization: `Bearer ${user['token']}` } });
  if (typeof tokenFile === 'string') return withTokenFile(server, tls, isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile));
  if (typeof user['username'] === 'string') {
    const basic = Buffer.from(`${user['username']}:${String(user['password'] ?? '')}`).toString('base64');
    return staticConfig(server, { ...tls, headers: { authorization: `Basic ${basic}` } });
  }
  return staticConfig(server, { ...tls, headers: {} });
}

function inCluster(host: string, port: string, tokenPath: string, context: Record<string, unknown>): KubeClientConfig {
  const caPath = join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  let ca: Buffer;
  try {
    ca = readFileSync(caPath);
  } catch (err) {
    throw new KubeConfigError(`cannot read the service account CA "${caPath}": ${String(err)}`, context, err);
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return withTokenFile(server, { ca, rejectUnauthorized: true }, tokenPath);
}

function staticConfig(server: string, options: KubeRequestOptions): KubeClientConfig {
  return { server, requestOptions: () => Promise.resolve(options) };
}

/** A bound service-account token is rotated on disk: read it for each request. */
function withTokenFile(server: string, tls: Omit<KubeRequestOptions, 'headers'>, tokenPath: string): KubeClientConfig {
  return {
    server,
    async requestOptions() {
      const token = (await readFile(tokenPath, 'utf8')).trim();
      return { ...tls, headers: { authorization: `Bearer ${token}` } };
    },
  };
}

/** Authentication this module does not implement, done by @kubernetes/client-node. */
function delegated(paths: string, serverOverride: string, context: Record<string, unknown>): KubeClientConfig {
  let server = serverOverride;
  if (server === '') {
    // The server is needed synchronously; the client library is loaded at the first request.
    for (const path of paths.split(delimiter)) {
      const doc = (loadYaml(readFileSync(path, 'utf8')) ?? {}) as KubeconfigDocument;
      const current = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
      const found = doc.clusters?.find((c) => c.name === current?.cluster)?.cluster?.['server'];
      if (typeof found === 'string') {
        server = found;
        break;
      }
    }
  }
  if (server === '') throw new KubeConfigError('no current cluster', context);
  let loading: Promise<{ applyToHTTPSOptions(opts: object): Promise<void> }> | undefined;
  const library = async (): Promise<{ applyToHTTPSOptions(opts: object): Promise<void> }> => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (paths.includes(delimiter)) kc.loadFromDefault();
    else kc.loadFromFile(paths);
    return kc;
  };
  return {
    server,
    async requestOptions() {
      loading ??= library();
      const opts: { headers: Record<string, string>; rejectUnauthorized?: boolean } = { headers: {} };
      await (await loading).applyToHTTPSOptions(opts);
      return { ...opts, rejectUnauthorized: opts.rejectUnauthorized !== false };
    },
  };
}
