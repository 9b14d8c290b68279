import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { retryWithBackoff } from '../../async/retry.js';
import type { NetConfig } from '../../config/net-config.js';
import { parseNetConfig as defaultParseNetConfig } from '../../config/parse-net-config.js';
import type { Logger } from '../../log.js';
import { describeLease } from '../lease-identity.js';
import type { KeepLeaseHooks, Lease, LeaseAttrs, LeaseRequest, LeaseWatchResult, SubnetManager } from '../types.js';
import { normaliseAnnotationPrefix } from './annotation-prefix.js';
import { kubeAnnotationNames, type KubeAnnotationNames } from './annotations.js';
import { KubeSubnetError, PodCidrError } from './errors.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { KubeHttpClient } from '../../kube/kube-http-client.js';
import type { ListWatchTimings } from '../../kube/list-watch.js';
import { httpNodeApi, type KubeNodeApi } from './kube-node-api.js';
import { watchNodeLeases } from './node-lease-stream.js';
import { resolveNodeName } from './node-name.js';
import { annotationsOf, type NodeView } from './node-view.js';
import { ownLease } from './own-lease.js';
import { keepOwnNode } from './own-node-keeper.js';
import { networkUpConditionChanges, networkUpConditionPatch, nodePublicIpOverride, ownSubnets, planOwnAnnotations } from './own-node.js';

export interface KubeTimings extends ListWatchTimings {
  /** Pause between attempts to read the own node (podCIDR) and to patch it. @default 3000 */
  readonly retryIntervalMs: number;
  /** Attempts before acquireLease gives up, as flannel's 30 s at 3 s. @default 10 */
  readonly retryAttempts: number;
}

export const DEFAULT_KUBE_TIMINGS: KubeTimings = {
  // The server is asked to end each watch after 4 min; 5 min of silence means it hangs.
  watchTimeoutSeconds: 240,
  watchSilenceMs: 300_000,
  backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 },
  retryIntervalMs: 3_000,
  retryAttempts: 10,
};

export type ParseNetConfig = (text: string, source: string) => NetConfig;

export interface KubeSubnetManagerDeps {
  readonly api: KubeNodeApi;
  /** Already normalised (see normaliseAnnotationPrefix). */
  readonly names: KubeAnnotationNames;
  readonly setNodeNetworkUnavailable: boolean;
  /** net-conf.json as text and where it came from (for error messages). */
  readonly loadNetConfig: () => Promise<{ text: string; source: string }>;
  readonly parseNetConfig: ParseNetConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly timings: KubeTimings;
  readonly now?: () => Date;
  /** Called by close(), after every call has been aborted (closes idle connections). */
  readonly onClose?: () => void;
}

/**
 * flannel's `--kube-subnet-mgr`: the lease is the node's podCIDR, published through node
 * annotations that Linux flanneld reads and writes identically; peers are the other nodes.
 */
export class KubeSubnetManager implements SubnetManager {
  readonly kind = 'kube' as const;
  readonly #deps: KubeSubnetManagerDeps;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  #config: Promise<NetConfig> | undefined;
  #nodeName: string | undefined;
  /** node-public-ip(v6) read at the first acquire; flannel reads them once at startup. */
  #publicIpOverride: { publicIp: string | undefined; publicIpv6: string | undefined } | undefined;

  constructor(deps: KubeSubnetManagerDeps) {
    this.#deps = deps;
    this.#log = deps.log;
  }

  /** The node this daemon runs on: NODE_NAME, else the spec.nodeName of POD_NAMESPACE/POD_NAME. */
  async nodeName(signal: AbortSignal): Promise<string> {
    this.#nodeName ??= await resolveNodeName(this.#deps.env, this.#deps.api, this.#linked(signal));
    return this.#nodeName;
  }

  /** net-conf.json, read once (flannel does not reload it in kube mode); a failure is not cached. */
  getNetworkConfig(signal: AbortSignal): Promise<NetConfig> {
    signal.throwIfAborted();
    if (!this.#config) {
      const loading = this.#deps.loadNetConfig().then(({ text, source }) => this.#deps.parseNetConfig(text, source));
      this.#config = loading;
      loading.catch(() => {
        if (this.#config === loading) this.#config = undefined;
      });
    }
    return this.#config;
  }

  /**
   * The admin's node-public-ip / node-public-ipv6 annotations on the own node, which override
   * `--public-ip(v6)` and so the choice of interface. Read once.
   */
  async storedPublicIps(signal: AbortSignal): Promise<{ publicIp: string | undefined; publicIpv6: string | undefined }> {
    if (this.#publicIpOverride) return this.#publicIpOverride;
    const name = await this.nodeName(signal);
    const node = await this.#deps.api.getNode(name, this.#linked(signal));
    return this.#readPublicIpOverride(node);
  }

  async publicIpOverride(signal: AbortSignal): Promise<string | undefined> {
    return (await this.storedPublicIps(signal)).publicIp;
  }

  async acquireLease(request: LeaseRequest, signal: AbortSignal): Promise<Lease> {
    const linked = this.#linked(signal);
    const nodeName = await this.nodeName(linked);
    const config = await this.getNetworkConfig(linked);
    const log = this.#log.child({ node: nodeName });
    const node = await this.#retry(`read the podCIDR of node ${nodeName}`, linked, async () => {
      const found = await this.#deps.api.getNode(nodeName, linked);
      if (!found.spec?.podCIDR) throw new PodCidrError(`node "${nodeName}" pod cidr not assigned`, { node: nodeName });
      return found;
    });
    const subnets = ownSubnets(node, nodeName, config);
    const attrs = this.#effectiveAttrs(request.attrs, node);
    const plan = planOwnAnnotations(annotationsOf(node), attrs, this.#deps.names);
    const changed = Object.keys(plan.changed);
    if (changed.length > 0) {
      await this.#retry(`patch the annotations of node ${nodeName}`, linked, () =>
        this.#deps.api.patchNodeStatus(nodeName, { metadata: { annotations: plan.changed } }, linked),
      );
    }
    const lease = ownLease(nodeName, subnets, attrs, config);
    log.info({ lease: describeLease(lease), patched: changed }, 'Acquired the node lease');
    return lease;
  }

  async keepLease(lease: Lease, request: LeaseRequest, signal: AbortSignal, hooks?: KeepLeaseHooks): Promise<void> {
    const linked = this.#linked(signal);
    if (linked.aborted) return;
    let nodeName: string;
    let config: NetConfig;
    try {
      // Both are cached by acquireLease, so only an abort can interrupt them here.
      nodeName = await this.nodeName(linked);
      config = await this.getNetworkConfig(linked);
    } catch (err) {
      if (linked.aborted) return;
      throw err;
    }
    const attrs = this.#effectiveAttrs(request.attrs, undefined);
    const { api, names, timings, log } = this.#deps;
    await keepOwnNode({ api, nodeName, names, config, attrs, timings, log }, lease, linked, hooks);
  }

  watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult> {
    const linked = this.#linked(signal);
    const { api, names, timings } = this.#deps;
    const manager = this;
    return {
      async *[Symbol.asyncIterator]() {
        const config = await manager.getNetworkConfig(linked);
        const families = { enableIpv4: config.enableIpv4, enableIpv6: config.enableIpv6 };
        yield* watchNodeLeases({ api, names, families, timings, log: manager.#log }, linked);
      },
    };
  }

  /**
   * Sets NetworkUnavailable=False (reason FlannelIsUp) once, unless disabled by flag or the node
   * already says so: flanneld patches it at every start, but an unchanged condition is no write.
   */
  async markNetworkUp(signal: AbortSignal): Promise<void> {
    if (!this.#deps.setNodeNetworkUnavailable) return;
    const linked = this.#linked(signal);
    const nodeName = await this.nodeName(linked);
    const changes = await this.#networkUpChanges(nodeName, linked);
    if (changes.length === 0) {
      this.#log.info({ node: nodeName }, 'The node network is already marked as available');
      return;
    }
    const now = this.#deps.now ?? (() => new Date());
    await retryWithBackoff(() => this.#deps.api.patchNodeStatus(nodeName, networkUpConditionPatch(now()), linked), {
      signal: linked,
      log: this.#log,
      what: `set the NetworkUnavailable condition of node ${nodeName}`,
      backoff: this.#deps.timings.backoff,
    });
    this.#log.info({ node: nodeName, changes }, 'Marked the node network as available');
  }

  async networkUpChanges(signal: AbortSignal): Promise<string[]> {
    if (!this.#deps.setNodeNetworkUnavailable) return [];
    const linked = this.#linked(signal);
    return this.#networkUpChanges(await this.nodeName(linked), linked);
  }

  async #networkUpChanges(nodeName: string, signal: AbortSignal): Promise<string[]> {
    const node = await retryWithBackoff(() => this.#deps.api.getNode(nodeName, signal), {
      signal,
      log: this.#log,
      what: `read node ${nodeName} before setting its NetworkUnavailable condition`,
      backoff: this.#deps.timings.backoff,
    });
    return networkUpConditionChanges(node);
  }

  async close(): Promise<void> {
    this.#closing.abort(new KubeSubnetError('KUBE_CLOSED', 'kube subnet manager closed'));
    this.#deps.onClose?.();
  }

  #linked(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.#closing.signal]);
  }

  #retry<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const { retryIntervalMs, retryAttempts } = this.#deps.timings;
    return retryWithBackoff(fn, {
      signal,
      log: this.#log,
      what,
      backoff: { baseMs: retryIntervalMs, maxMs: retryIntervalMs },
      maxAttempts: retryAttempts,
    });
  }

  #readPublicIpOverride(node: NodeView): { publicIp: string | undefined; publicIpv6: string | undefined } {
    const override = nodePublicIpOverride(annotationsOf(node), this.#deps.names);
    for (const bad of override.invalid) this.#log.warn(bad, 'Ignoring node public IP annotation: not an address of its family');
    this.#publicIpOverride = { publicIp: override.publicIp, publicIpv6: override.publicIpv6 };
    return this.#publicIpOverride;
  }

  #effectiveAttrs(attrs: LeaseAttrs, node: NodeView | undefined): LeaseAttrs {
    const override = this.#publicIpOverride ?? (node ? this.#readPublicIpOverride(node) : undefined);
    if (!override) return attrs;
    return {
      ...attrs,
      publicIp: override.publicIp ?? attrs.publicIp,
      publicIpv6: override.publicIpv6 ?? attrs.publicIpv6,
    };
  }
}

export interface CreateKubeSubnetManagerOptions {
  /** `--kube-api-url`. */
  readonly apiUrl?: string | undefined;
  /** `--kubeconfig-file`. */
  readonly kubeconfigFile?: string | undefined;
  /** `--kube-annotation-prefix` as given; normalised here. */
  readonly annotationPrefix: string;
  /** `--set-node-network-unavailable`. */
  readonly setNodeNetworkUnavailable: boolean;
  /** net-conf.json text; when absent, read from `netConfPath` (`--net-config-path`). */
  readonly netConfText?: string | undefined;
  readonly netConfPath?: string | undefined;
  /** NODE_NAME, POD_NAME, POD_NAMESPACE (and, for in-cluster config, KUBERNETES_SERVICE_*). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly timings?: Partial<KubeTimings> | undefined;
  readonly parseNetConfig?: ParseNetConfig | undefined;
  /** Replaces the HTTP node API (tests). */
  readonly api?: KubeNodeApi | undefined;
}

/**
 * Builds the kube subnet manager from flanneld's flags.
 * @throws KubeSubnetError `KUBE_ANNOTATION_PREFIX` for a bad prefix; KubeConfigError `KUBE_CONFIG` when no
 *   client configuration can be loaded.
 */
export function createKubeSubnetManager(options: CreateKubeSubnetManagerOptions): KubeSubnetManager {
  const names = kubeAnnotationNames(normaliseAnnotationPrefix(options.annotationPrefix));
  let client: KubeHttpClient | undefined;
  const api =
    options.api ??
    httpNodeApi(
      (client = new KubeHttpClient(
        loadKubeConfig(
          { kubeApiUrl: options.apiUrl ?? '', kubeconfigFile: options.kubeconfigFile ?? '' },
          { env: options.env, fileExists: defaultFileExists },
        ),
      )),
    );
  const { netConfText, netConfPath } = options;
  const loadNetConfig = async (): Promise<{ text: string; source: string }> => {
    if (netConfText !== undefined) return { text: netConfText, source: netConfPath ?? 'net-conf.json' };
    const path = netConfPath ?? '/etc/kube-flannel/net-conf.json';
    try {
      return { text: await readFile(path, 'utf8'), source: path };
    } catch (err) {
      throw new KubeSubnetError('KUBE_NET_CONFIG', `failed to read net conf: ${String(err)}`, { path }, { cause: err });
    }
  };
  return new KubeSubnetManager({
    api,
    names,
    setNodeNetworkUnavailable: options.setNodeNetworkUnavailable,
    loadNetConfig,
    parseNetConfig: options.parseNetConfig ?? defaultParseNetConfig,
    env: options.env,
    log: options.log,
    timings: { ...DEFAULT_KUBE_TIMINGS, ...options.timings },
    onClose: () => client?.close(),
  });
}

function defaultFileExists(path: string): boolean {
  return existsSync(path);
}
