import type { BackoffPolicy } from '../async/backoff.js';
import { retryWithBackoff } from '../async/retry.js';
import type { BuildInfo } from '../build-info.js';
import type { BackendNetwork, BackendTimings, NetworkRepair } from '../backends/backend.js';
import type { NetworkReadyInfo } from '../cni/node-cni-setup.js';
import { createBackend, UnsupportedBackendError } from '../backends/create-backend.js';
import { selectExternalInterface } from './interface-selection.js';
import type { NetConfig } from '../config/net-config.js';
import { NetConfigError } from '../config/parse-net-config.js';
import { readSubnetEnv, writeSubnetEnvAtomic } from '../lease/subnet-env.js';
import { writeFileIfChanged } from '../cni/file-if-changed.js';
import { subnetEnvText } from './subnet-env-text.js';
import { describeError, FlannelWinError, isAbortError } from '../errors.js';
import type { HnsClient } from '../hns/client.js';
import { describeLease } from '../lease/lease-identity.js';
import type { SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { formatIp4Net } from '../net/ip.js';
import { systemClock } from '../reconcile/clock.js';
import { runPeriodically } from '../reconcile/periodic-resync.js';
import { DEFAULT_RATE_LIMIT, TokenBucket } from '../reconcile/token-bucket.js';
import { watchHeap } from './heap-watch.js';
import type { RouteTable } from '../routes/route-table.js';
import type { Controller, ControllerContext, ControllerFactory, ConvergedTask } from './controller.js';
import { startHealthServer } from './health-server.js';
import { answerPolicyFlow, type RouteReply } from './policy-flow-route.js';
import type { DaemonMetrics } from './metrics.js';
import { NetworkGuard } from './network-guard.js';
import { OwnLeaseKeeper } from './own-lease-keeper.js';
import { peerController } from './peer-controller.js';

export interface DaemonOptions {
  subnetFile: string;
  ipMasq: boolean;
  iface: string[];
  ifaceRegex: string[];
  ifaceCanReach?: string | undefined;
  publicIp?: string | undefined;
  /** undefined: no health server (flanneld's --healthz-port 0). */
  healthz?: { host: string; port: number; detailFromLoopbackOnly?: boolean } | undefined;
  /** Serve /metrics on the health server (--metrics). */
  serveMetrics?: boolean;
  resyncIntervalMs: number;
  backendTimings?: Partial<BackendTimings>;
  /** Reconciler tuning; the defaults suit a real host. */
  reconcile?: { concurrency?: number; backoff?: Partial<BackoffPolicy> };
  /** Back-off between attempts to recreate a lost HNS network. @default 500 ms to 10 s */
  networkRetry?: { initialDelayMs: number; maxDelayMs: number };
  /** The CNI side of the node (src/cni); its config write is one of the converged tasks. */
  cni?: CniHook | undefined;
  /** Shown in /status (version, commit). */
  build?: BuildInfo | undefined;
}

/** What the daemon tells the CNI side of the node, and shows of it in /status. */
export interface CniHook {
  /** The HNS network exists and subnet.env is written (kube-proxy's source VIP is reserved here). */
  networkReady(info: NetworkReadyInfo): Promise<void>;
  status(): Record<string, unknown>;
}

export interface DaemonDeps {
  options: DaemonOptions;
  log: Logger;
  hns: HnsClient;
  routes: RouteTable;
  subnetManager: SubnetManager;
  metrics: DaemonMetrics;
  /**
   * Controllers run after the peer controller (which always runs first), each built once the
   * network is registered. A policy controller plugs in here.
   */
  controllers?: readonly ControllerFactory[];
  /** Work that needs the node fully set up, such as writing the CNI config (see ConvergedTask). */
  convergedTasks?: readonly ConvergedTask[];
}

/** Start-up failures that retrying cannot fix: bad config, unsupported backend, no interface. */
export class DaemonStartError extends FlannelWinError {}

function isPermanent(err: unknown): boolean {
  return err instanceof NetConfigError || err instanceof UnsupportedBackendError || err instanceof DaemonStartError;
}

/**
 * flanneld's main sequence (compat/flannel.md §5 "Lifecycle") on Windows: config, interface,
 * backend registration (lease + HNS network), subnet.env, then the peer loop through the
 * reconciler, lease keeping and periodic resync until the signal aborts. On shutdown nothing
 * is torn down: pods keep their network while the daemon restarts.
 */
export class Daemon {
  private subnetEnvWritten = false;
  private network: BackendNetwork<unknown, unknown> | undefined;
  private guard: NetworkGuard | undefined;
  private leaseKeeper: OwnLeaseKeeper | undefined;
  private controllers: Controller[] = [];
  /** Converged tasks: not started, running, or done once (readiness waits for done). */
  private tasks: 'idle' | 'running' | 'done' = 'idle';
  private wasReady = false;
  private readonly startedAt = new Date();
  private fatal: Error | undefined;

  constructor(private readonly deps: DaemonDeps) {
    if ((deps.convergedTasks ?? []).length === 0) this.tasks = 'done';
  }

  /**
   * subnet.env written, the HNS network present as set up, every controller converged once,
   * and the converged tasks done once.
   */
  ready(): boolean {
    return this.baseReady() && this.tasks === 'done';
  }

  status(): Record<string, unknown> {
    // Each controller's status is built once: the peers one lists up to 2,000 peers.
    const controllers = new Map(this.controllers.map((c) => [c.name, c.status()]));
    const peers = controllers.get('peers');
    const reconciler = peers?.['reconciler'] as { lastResyncAt?: Date; driftRepaired?: number } | undefined;
    const lease = this.leaseKeeper?.current();
    return {
      version: this.deps.options.build,
      ready: this.ready(),
      notReady: this.notReadyReasons(),
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      subnetManager: this.deps.subnetManager.kind,
      lease: lease ? describeLease(lease) : undefined,
      leaseExpiresAt: lease?.expiration?.toISOString(),
      store: peers?.['store'],
      peerList: peers?.['peerList'],
      lastResyncAt: reconciler?.lastResyncAt?.toISOString(),
      driftRepaired: reconciler?.driftRepaired,
      backend: this.network?.describe(),
      network: this.guard?.status(),
      peers: peers?.['peers'] ?? 0,
      unusablePeers: peers?.['unusablePeers'] ?? [],
      controllers: Object.fromEntries(controllers),
      cni: this.deps.options.cni?.status(),
    };
  }

  /** `/policy/flow`: asks the controller holding the NetworkPolicy view, if one runs. */
  policyFlow(params: URLSearchParams): RouteReply {
    if (this.controllers.length === 0) return answerPolicyFlow(params, 'starting');
    const explainer = this.controllers.find((c) => c.explainFlow !== undefined);
    return answerPolicyFlow(params, explainer && { explainFlow: (q) => explainer.explainFlow!(q) });
  }

  /**
   * Runs until `signal` aborts (resolves) or start-up fails for good (rejects). A failure
   * after start-up never rejects: it is logged and retried.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { options, log, subnetManager, metrics } = this.deps;
    const inner = new AbortController();
    const stopInner = () => inner.abort(signal.reason);
    signal.addEventListener('abort', stopInner, { once: true });
    const health = options.healthz
      ? await startHealthServer({ ...options.healthz, state: this, metrics: options.serveMetrics === false ? undefined : metrics.registry, log })
      : undefined;
    const background: Promise<unknown>[] = [];
    try {
      const netConfig = await retryWithBackoff(() => subnetManager.getNetworkConfig(inner.signal), {
        signal: inner.signal,
        log,
        what: 'read the network configuration',
        isPermanent,
      });
      log.info({ network: netConfig.network ? formatIp4Net(netConfig.network) : undefined, backend: netConfig.backendType }, 'network configuration read');
      const override = await retryWithBackoff(async () => subnetManager.publicIpOverride?.(inner.signal), {
        signal: inner.signal,
        log,
        what: 'read the node-public-ip override',
      });
      if (override) log.info({ publicIp: override, flag: options.publicIp }, 'the node-public-ip annotation overrides --public-ip');
      // A failed interface or route listing is transient (HNS restarting); no match once the
      // host answered is not (DaemonStartError), so only that one ends start-up.
      const external = await retryWithBackoff(() => this.selectInterface(override ?? options.publicIp), {
        signal: inner.signal,
        log,
        what: 'list the host interfaces and routes',
        isPermanent,
      });
      const previous = await readSubnetEnv(options.subnetFile).then(
        (env) => {
          for (const warning of env.warnings) log.warn({ subnetFile: options.subnetFile }, `previous subnet.env: ${warning}`);
          return { previousSubnet: env.previousSubnet, previousIpv6Subnet: env.previousIpv6Subnet };
        },
        (err: unknown) => {
          log.warn({ subnetFile: options.subnetFile, err: describeError(err) }, 'could not read the previous subnet.env; acquiring a fresh lease');
          return {};
        },
      );
      const backend = createBackend(netConfig.backendType, {
        hns: this.deps.hns,
        routes: this.deps.routes,
        subnetManager,
        netConfig,
        external,
        previous,
        log,
        ...(options.backendTimings ? { timings: options.backendTimings } : {}),
      });
      const network = await retryWithBackoff(() => backend.register(inner.signal), {
        signal: inner.signal,
        log,
        what: `register the ${backend.type} network`,
        isPermanent,
      });
      this.network = network;
      const leaseKeeper = new OwnLeaseKeeper({
        subnetManager,
        log,
        lease: network.lease,
        request: network.leaseRequest,
        metrics,
        onMoved: (before, after) => {
          // The HNS network's IPAM and every local pod sit in the old subnet: only a fresh
          // registration can fix that. Exit non-zero so the service manager restarts us.
          this.fatal = new DaemonStartError('LEASE_MOVED', `the subnet lease was lost and re-acquired as ${after} instead of ${before}; restarting to re-create the network`, { before, after });
          log.error({ before, after }, this.fatal.message);
          inner.abort(this.fatal);
        },
      });
      this.leaseKeeper = leaseKeeper;
      await this.writeSubnetEnv(netConfig, network);
      const networkName = network.describe()['network'];
      await options.cni?.networkReady({
        backendType: network.backendType,
        networkName: typeof networkName === 'string' ? networkName : '',
        clusterCidr: netConfig.network,
        subnet: network.lease.subnet,
        nodeIp: external.ifaceAddr,
      });

      const guard = new NetworkGuard({
        network,
        log: log.child({ component: 'network' }),
        metrics,
        afterRepair: (repair, s) => this.afterRepair(repair, s),
        onPresenceChanged: () => this.judgeReadiness(inner.signal),
        ...(options.networkRetry ? { retry: options.networkRetry } : {}),
      });
      this.guard = guard;
      const ctx: ControllerContext = {
        network,
        ownLease: () => leaseKeeper.current(),
        subnetManager,
        netConfig,
        hns: this.deps.hns,
        routes: this.deps.routes,
        log,
        metrics,
        // One bucket for every controller: HNS serialises writes per network, and a storm in
        // one controller must not starve the others or flood HNS.
        hnsWriteLimit: new TokenBucket(DEFAULT_RATE_LIMIT, systemClock),
        concurrency: options.reconcile?.concurrency,
        backoff: options.reconcile?.backoff,
        reportHnsError: (err) => guard.report(err, inner.signal),
        onConverged: () => this.judgeReadiness(inner.signal),
      };
      this.controllers = [peerController, ...(this.deps.controllers ?? [])].map((factory) => factory(ctx));

      leaseKeeper.start(inner.signal);
      for (const controller of this.controllers) {
        background.push(
          controller.run(inner.signal).catch((err: unknown) => {
            if (!inner.signal.aborted) log.error({ controller: controller.name, err: describeError(err) }, 'controller stopped unexpectedly');
          }),
        );
      }
      background.push(this.markNetworkUp(inner.signal));
      runPeriodically((s) => this.resyncAll(s), { intervalMs: options.resyncIntervalMs, clock: systemClock, log, signals: [inner.signal] });
      watchHeap({ log, signal: inner.signal, peers: () => this.controllers.find((c) => c.name === 'peers')?.peerCount?.() ?? 0 });

      await new Promise<void>((resolve) => {
        if (inner.signal.aborted) resolve();
        else inner.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.allSettled(background);
      await leaseKeeper.stopped();
      if (this.fatal) throw this.fatal;
      log.info('shutting down: draining the reconcile queues; the lease and the dataplane are kept');
      await Promise.all(this.controllers.map((c) => c.drain()));
    } catch (err) {
      if (!(signal.aborted && isAbortError(err))) throw err;
    } finally {
      signal.removeEventListener('abort', stopInner);
      inner.abort();
      await Promise.allSettled(background);
      await this.leaseKeeper?.stopped();
      await subnetManager.close().catch((err: unknown) => log.warn({ err: describeError(err) }, 'closing the subnet manager failed'));
      await health?.close();
    }
  }

  /** Why /readyz answers 503, in words an operator can act on; empty when ready. */
  private notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.network === undefined) reasons.push('the backend network is not registered yet (network config, interface or lease pending; see the log)');
    else if (!this.subnetEnvWritten) reasons.push(`subnet.env is not written (${this.deps.options.subnetFile})`);
    if (this.guard !== undefined && !this.guard.present()) reasons.push('the HNS network is missing and being recreated');
    for (const controller of this.controllers) if (!controller.convergedOnce()) reasons.push(`controller "${controller.name}" has not converged yet`);
    if (this.baseReady() && this.tasks !== 'done') reasons.push(`waiting for ${(this.deps.convergedTasks ?? []).map((t) => t.name).join(', ')}`);
    return reasons;
  }

  private baseReady(): boolean {
    return this.subnetEnvWritten && (this.guard?.present() ?? false) && this.controllers.length > 0 && this.controllers.every((c) => c.convergedOnce());
  }

  /** Every resync interval: the network first (a lost one is recreated), then every controller. */
  private async resyncAll(signal: AbortSignal): Promise<void> {
    await this.guard?.check(signal);
    if (signal.aborted || !this.guard?.present()) return;
    for (const controller of this.controllers) {
      await controller.resync(signal).catch((err: unknown) => {
        if (!signal.aborted) this.deps.log.warn({ controller: controller.name, err: describeError(err) }, 'resync failed; trying again next interval');
      });
    }
  }

  /** After the network was repaired: publish the new lease data, re-apply every controller. */
  private async afterRepair(repair: NetworkRepair, signal: AbortSignal): Promise<void> {
    const { log } = this.deps;
    if (repair.leaseRequest) await this.leaseKeeper?.republish(repair.leaseRequest, signal);
    for (const controller of this.controllers) controller.networkRepaired?.(repair);
    for (const controller of this.controllers) {
      // Listing the new network replaces what the reconciler believed the host held.
      await controller.resync(signal).catch((err: unknown) => {
        if (!signal.aborted) log.warn({ controller: controller.name, err: describeError(err) }, 'resync after the network repair failed; retried next interval');
      });
      // After the listing, so they are compared with the repaired host: keys that failed while
      // the network was gone would otherwise wait out up to a minute of back-off, and readiness
      // (which waits for queued keys only) would return without them.
      controller.retryNow?.();
      await controller.settled(signal);
    }
    if (repair.recreated && this.tasks === 'done' && (this.deps.convergedTasks ?? []).length > 0) {
      this.tasks = 'idle';
      this.judgeReadiness(signal);
    }
  }

  /** Logs and exports readiness changes; starts the converged tasks the first time all else is ready. */
  private judgeReadiness(signal: AbortSignal): void {
    const { log, metrics } = this.deps;
    if (this.baseReady() && this.tasks === 'idle') void this.runConvergedTasks(signal);
    const ready = this.ready();
    metrics.ready.set(ready ? 1 : 0);
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    if (ready) {
      log.info({ controllers: this.controllers.map((c) => c.name) }, 'every controller converged and the network is present; ready');
    } else {
      const networkPresent = this.guard?.present() ?? false;
      log.warn({ networkPresent, convergedTasks: this.tasks }, networkPresent ? 'not ready: waiting for the converged tasks' : 'not ready: the HNS network is being recreated');
    }
  }

  private async runConvergedTasks(signal: AbortSignal): Promise<void> {
    const { log } = this.deps;
    this.tasks = 'running';
    for (const task of this.deps.convergedTasks ?? []) {
      await retryWithBackoff(() => task.run(signal), { signal, log, what: task.name, isPermanent }).catch((err: unknown) => {
        if (!signal.aborted) log.error({ task: task.name, err: describeError(err) }, `${task.name} failed for good`);
      });
      if (signal.aborted) return;
    }
    this.tasks = 'done';
    this.judgeReadiness(signal);
  }

  private async selectInterface(publicIp: string | undefined) {
    const { options, log } = this.deps;
    const interfaces = await this.deps.routes.listInterfaces();
    const routes = await this.deps.routes.listRoutes('ipv4');
    try {
      const external = selectExternalInterface(interfaces, {
        routes,
        iface: options.iface,
        ifaceRegex: options.ifaceRegex,
        ...(options.ifaceCanReach ? { ifaceCanReach: options.ifaceCanReach } : {}),
        ...(publicIp ? { publicIp } : {}),
      });
      log.info(
        { iface: external.iface.name, ifaceAddr: external.ifaceAddr, extAddr: external.extAddr, mtu: external.iface.mtu, selectedBy: external.selectedBy, notes: external.notes },
        'external interface selected',
      );
      return external;
    } catch (err) {
      throw new DaemonStartError('NO_INTERFACE', describeError(err), {});
    }
  }

  private async writeSubnetEnv(netConfig: NetConfig, network: BackendNetwork<unknown, unknown>): Promise<void> {
    const { options, log } = this.deps;
    const text = subnetEnvText(netConfig, network.lease, network.mtu, options.ipMasq);
    try {
      // Only when the content changes: the CNI plugin reads the file at every pod start (and on
      // Windows holds it open, which makes a replace retry), and `plan` predicts this decision.
      const wrote = await writeFileIfChanged(options.subnetFile, text, writeSubnetEnvAtomic);
      this.subnetEnvWritten = true;
      log.info({ subnetFile: options.subnetFile, mtu: network.mtu, changed: wrote }, wrote ? 'subnet.env written' : 'subnet.env already up to date');
    } catch (err) {
      // flanneld warns and carries on; readiness stays false so the operator sees it.
      log.error({ subnetFile: options.subnetFile, err: describeError(err) }, 'could not write subnet.env; the CNI plugin cannot configure pods');
    }
  }

  private async markNetworkUp(signal: AbortSignal): Promise<void> {
    const { subnetManager, log } = this.deps;
    try {
      await retryWithBackoff(() => subnetManager.markNetworkUp(signal), { signal, log, what: 'mark the node network as up' });
    } catch (err) {
      if (!signal.aborted) log.error({ err: describeError(err) }, 'could not mark the node network as up');
    }
  }
}
