import { retryWithBackoff } from '../async/retry.js';
import type { BackendNetwork, BackendTimings } from '../backends/backend.js';
import { createBackend, UnsupportedBackendError } from '../backends/create-backend.js';
import { selectExternalInterface } from './interface-selection.js';
import type { NetConfig } from '../config/net-config.js';
import { NetConfigError } from '../config/parse-net-config.js';
import { formatSubnetEnv, readSubnetEnv, writeSubnetEnvAtomic } from '../lease/subnet-env.js';
import { describeError, FlannelWinError, isAbortError } from '../errors.js';
import type { HnsClient } from '../hns/client.js';
import { describeLease } from '../lease/lease-identity.js';
import type { Lease, SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { formatIp4Net } from '../net/ip.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { RouteTable } from '../routes/route-table.js';
import { startHealthServer } from './health-server.js';
import type { DaemonMetrics } from './metrics.js';
import { PeerSync } from './peer-sync.js';

export interface DaemonOptions {
  subnetFile: string;
  ipMasq: boolean;
  iface: string[];
  ifaceRegex: string[];
  ifaceCanReach?: string | undefined;
  publicIp?: string | undefined;
  /** undefined: no health server (flanneld's --healthz-port 0). */
  healthz?: { host: string; port: number } | undefined;
  /** Serve /metrics on the health server (--metrics). */
  serveMetrics?: boolean;
  resyncIntervalMs: number;
  backendTimings?: Partial<BackendTimings>;
  /** Reconciler tuning; the defaults suit a real host. */
  reconcile?: { concurrency?: number };
}

export interface DaemonDeps {
  options: DaemonOptions;
  log: Logger;
  hns: HnsClient;
  routes: RouteTable;
  subnetManager: SubnetManager;
  metrics: DaemonMetrics;
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
  private converged = false;
  private network: BackendNetwork<unknown, unknown> | undefined;
  private reconciler: Reconciler<unknown, unknown> | undefined;
  private peerSync: PeerSync<unknown> | undefined;
  private ownLease: Lease | undefined;
  private readonly startedAt = new Date();
  private fatal: Error | undefined;

  constructor(private readonly deps: DaemonDeps) {}

  ready(): boolean {
    return this.subnetEnvWritten && this.converged;
  }

  status(): Record<string, unknown> {
    const stats = this.reconciler?.stats();
    return {
      ready: this.ready(),
      startedAt: this.startedAt.toISOString(),
      subnetManager: this.deps.subnetManager.kind,
      lease: this.ownLease ? describeLease(this.ownLease) : undefined,
      backend: this.network?.describe(),
      peers: this.peerSync?.peerCount ?? 0,
      unusablePeers: this.peerSync ? [...this.peerSync.unusablePeers().values()] : [],
      reconciler: stats,
    };
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
      const external = await this.selectInterface(override ?? options.publicIp);
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
      this.ownLease = network.lease;
      await this.writeSubnetEnv(netConfig, network);

      const reconciler = new Reconciler<unknown, unknown>(network.kind, {
        log: log.child({ kind: network.kind.name }),
        ...(options.reconcile?.concurrency !== undefined ? { concurrency: options.reconcile.concurrency } : {}),
        ...(network.kind.rateLimit ? { rateLimit: network.kind.rateLimit } : {}),
        onApplied: (changes: readonly { op: string }[], durationMs: number) => {
          metrics.applies.inc({ kind: network.kind.name, result: 'ok' });
          metrics.applySeconds.observe({ kind: network.kind.name }, durationMs / 1000);
          for (const change of changes) metrics.changes.inc({ kind: network.kind.name, op: change.op });
        },
        onFailed: () => metrics.applies.inc({ kind: network.kind.name, result: 'error' }),
      });
      this.reconciler = reconciler;
      reconciler.start(inner.signal);

      const peerSync = new PeerSync<unknown>({
        subnetManager,
        ownLease: network.lease,
        decide: network.decide,
        reconciler,
        log,
        hooks: {
          onFirstConverged: () => {
            this.converged = true;
            metrics.ready.set(this.ready() ? 1 : 0);
            const stats = reconciler.stats();
            log.info({ peers: peerSync.peerCount, applied: stats.applied, failed: stats.failed }, 'dataplane converged with the lease store; ready');
          },
          onChanges: (changes) => {
            for (const change of changes) metrics.leaseEvents.inc({ type: change.type });
            metrics.peers.set(peerSync.peerCount);
            metrics.unusablePeers.set(peerSync.unusablePeers().size);
          },
        },
      });
      this.peerSync = peerSync;
      background.push(peerSync.run(inner.signal));
      background.push(this.keepLease(network, inner.signal, inner));
      background.push(this.markNetworkUp(inner.signal));
      reconciler.startPeriodicResync(options.resyncIntervalMs, inner.signal);
      const depth = setInterval(() => metrics.queueDepth.set(reconciler.stats().queued), 1000);
      depth.unref();
      inner.signal.addEventListener('abort', () => clearInterval(depth), { once: true });

      await new Promise<void>((resolve) => {
        if (inner.signal.aborted) resolve();
        else inner.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.allSettled(background);
      if (this.fatal) throw this.fatal;
      log.info('shutting down: draining the reconcile queue; the lease and the dataplane are kept');
      await reconciler.drain();
    } catch (err) {
      if (!(signal.aborted && isAbortError(err))) throw err;
    } finally {
      signal.removeEventListener('abort', stopInner);
      inner.abort();
      await Promise.allSettled(background);
      await subnetManager.close().catch((err: unknown) => log.warn({ err: describeError(err) }, 'closing the subnet manager failed'));
      await health?.close();
    }
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
    const text = formatSubnetEnv({
      network: netConfig.enableIpv4 ? netConfig.network : undefined,
      subnet: network.lease.enableIpv4 ? network.lease.subnet : undefined,
      ipv6Network: netConfig.enableIpv6 ? netConfig.ipv6Network : undefined,
      ipv6Subnet: network.lease.enableIpv6 ? network.lease.ipv6Subnet : undefined,
      mtu: network.mtu,
      ipMasq: options.ipMasq,
    });
    try {
      await writeSubnetEnvAtomic(options.subnetFile, text);
      this.subnetEnvWritten = true;
      log.info({ subnetFile: options.subnetFile, mtu: network.mtu }, 'subnet.env written');
    } catch (err) {
      // flanneld warns and carries on; readiness stays false so the operator sees it.
      log.error({ subnetFile: options.subnetFile, err: describeError(err) }, 'could not write subnet.env; the CNI plugin cannot configure pods');
    }
  }

  private async keepLease(network: BackendNetwork<unknown, unknown>, signal: AbortSignal, inner: AbortController): Promise<void> {
    const { subnetManager, log } = this.deps;
    const before = network.lease.subnet ? formatIp4Net(network.lease.subnet) : undefined;
    try {
      await subnetManager.keepLease(network.lease, network.leaseRequest, signal, {
        onRenewed: (lease) => {
          this.ownLease = lease;
          log.debug({ lease: describeLease(lease), expires: lease.expiration?.toISOString() }, 'subnet lease renewed');
        },
        onLost: (reason) => log.error({ subnet: before, reason }, 'OUR SUBNET LEASE WAS LOST; re-acquiring it'),
        onReacquired: (lease) => {
          this.ownLease = lease;
          const after = lease.subnet ? formatIp4Net(lease.subnet) : undefined;
          if (after === before) {
            log.warn({ subnet: after }, 'subnet lease re-acquired with the same subnet; pods are unaffected');
            return;
          }
          // The HNS network's IPAM and every local pod sit in the old subnet: only a fresh
          // registration can fix that. Exit non-zero so the service manager restarts us.
          this.fatal = new DaemonStartError('LEASE_MOVED', `the subnet lease was lost and re-acquired as ${after} instead of ${before}; restarting to re-create the network`, { before, after });
          log.error({ before, after }, this.fatal.message);
          inner.abort(this.fatal);
        },
      });
    } catch (err) {
      if (!signal.aborted) log.error({ err: describeError(err) }, 'keeping the subnet lease stopped unexpectedly');
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
