import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatIp4Net, type Ip4Net } from '../net/ip.js';
import { DELEGATE_BY_BACKEND, formatCniConfig, type CniBackend, type CniConfigInput } from './cni-config.js';
import { fileChangeFor, writeFileIfChanged, type AtomicWrite, type FileChange } from './file-if-changed.js';
import { formatSourceVipFile, lookUpSourceVip, reserveSourceVip, type SourceVipLookup, type SourceVipReservation } from './source-vip.js';

/** What the daemon knows once the HNS network exists and subnet.env is written. */
export interface NetworkReadyInfo {
  backendType: string;
  /** The HNS network's name. */
  networkName: string;
  /** net-conf.json Network. */
  clusterCidr: Ip4Net | undefined;
  /** This node's leased subnet. */
  subnet: Ip4Net | undefined;
  /** The node's address on the external interface (overlay provider address). */
  nodeIp: string;
}

export interface CniNodeSetupOptions {
  /** --cni-conf-file; empty: the daemon writes no CNI config. */
  confFile: string;
  serviceCidr: Ip4Net;
  ipMasq: boolean;
  /** Overlay only: where host-local keeps its store, and where kube-proxy reads the VIP. */
  sourceVip?: { ipamDataDir: string; file: string } | undefined;
  writeAtomic: AtomicWrite;
  log: Logger;
}

/**
 * What the CNI config is built from, checked: a backend with a delegate, a network name, an IPv4
 * cluster network and node subnet. Throws naming what is missing.
 */
export function cniConfigInput(info: NetworkReadyInfo, options: Pick<CniNodeSetupOptions, 'serviceCidr' | 'ipMasq'>): CniConfigInput {
  if (!(info.backendType in DELEGATE_BY_BACKEND)) throw new Error(`no CNI delegate for backend ${JSON.stringify(info.backendType)}`);
  if (info.networkName === '') throw new Error('the backend reported no HNS network name');
  if (!info.clusterCidr || !info.subnet) throw new Error('the CNI config needs an IPv4 cluster network and node subnet');
  return {
    backend: info.backendType as CniBackend,
    networkName: info.networkName,
    clusterCidr: info.clusterCidr,
    serviceCidr: options.serviceCidr,
    nodeIp: info.nodeIp,
    ipMasq: options.ipMasq,
  };
}

/**
 * The node's CNI side: reserves kube-proxy's source VIP once the network exists (overlay), and
 * writes the flannel CNI config only when the daemon says pods can be networked (network,
 * subnet.env, every controller converged once): it is one of the daemon's converged tasks.
 * Until then the conf dir holds no config of ours, so the container runtime reports the network
 * as not ready and starts no pod: after a reboot no pod comes up before its network.
 */
export class CniNodeSetup {
  readonly name = 'write the CNI config';
  private info: NetworkReadyInfo | undefined;
  private confText: string | undefined;
  private confWrites = 0;
  private confWritten = false;
  private vip: SourceVipReservation | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: CniNodeSetupOptions) {}

  /**
   * Called once the network exists and subnet.env is written: reserves the source VIP before any
   * pod can start. A failure is logged; `run` tries again before writing anything.
   */
  async networkReady(info: NetworkReadyInfo): Promise<void> {
    this.info = info;
    await this.prepare().catch((err: unknown) => {
      this.options.log.error({ err: describeError(err), cniConfFile: this.options.confFile, network: info.networkName }, 'cannot prepare the CNI config; it is not written until this succeeds, so pods on this node stay pending');
    });
  }

  /**
   * The converged task: prepares (if that failed before) and writes the CNI config when it
   * differs from the file on disk. Throws on failure; the daemon retries with back-off.
   */
  async run(_signal: AbortSignal): Promise<void> {
    const { options } = this;
    await this.prepare();
    const text = this.confText;
    if (text === undefined) return;
    try {
      const wrote = await writeFileIfChanged(options.confFile, text, options.writeAtomic);
      if (wrote) this.confWrites++;
      this.confWritten = true;
      this.lastError = undefined;
      options.log.info({ cniConfFile: options.confFile, changed: wrote }, wrote ? 'CNI config written; pods can be networked' : 'CNI config already up to date; pods can be networked');
    } catch (err) {
      this.lastError = `writing ${options.confFile}: ${describeError(err)}`;
      throw err;
    }
  }

  /** Computes the config text and reserves the source VIP; idempotent once it succeeded. */
  private async prepare(): Promise<void> {
    const { options, info } = this;
    if (this.confText !== undefined || (this.vip !== undefined && options.confFile === '')) return;
    if (!info) throw new Error('the HNS network is not set up yet');
    try {
      const input = cniConfigInput(info, options);
      if (input.backend === 'vxlan' && options.sourceVip && !this.vip) {
        // cniConfigInput checked the subnet.
        const vip = await reserveSourceVip(options.sourceVip.ipamDataDir, info.networkName, info.subnet as Ip4Net);
        if (vip.removedStale.length > 0) options.log.warn({ removed: vip.removedStale, subnet: vip.subnet }, 'removed source-VIP reservations outside the node subnet (the node re-joined with another subnet)');
        const wrote = await writeFileIfChanged(options.sourceVip.file, formatSourceVipFile(vip), options.writeAtomic);
        this.vip = vip;
        options.log.info({ sourceVip: vip.ip, reservation: vip.file, reused: vip.reused, sourceVipFile: options.sourceVip.file, wrote }, 'kube-proxy source VIP reserved in the CNI IPAM store');
      }
      if (options.confFile !== '') this.confText = formatCniConfig(input);
      this.lastError = undefined;
    } catch (err) {
      this.lastError = describeError(err);
      throw err;
    }
  }

  /**
   * What `run` would do to the CNI config once the network is `info`, by reading only: the same
   * text (cniConfigInput, formatCniConfig) and the same "does it differ" decision
   * (fileChangeFor). `undefined` when no config is configured or the file already holds it.
   */
  async plannedConfig(info: NetworkReadyInfo): Promise<{ path: string; text: string; change: FileChange } | undefined> {
    const { confFile } = this.options;
    if (confFile === '') return undefined;
    const text = formatCniConfig(cniConfigInput(info, this.options));
    const change = await fileChangeFor(confFile, text);
    return change ? { path: confFile, text, change } : undefined;
  }

  /**
   * What `networkReady` would do for kube-proxy's source VIP once the network is `info` (vxlan
   * with a source VIP file), by reading only: the reservation kept, stale ones removed or a new
   * one taken (lookUpSourceVip), and the source VIP file's text and change. `undefined` when the
   * daemon would reserve nothing.
   */
  async plannedSourceVip(info: NetworkReadyInfo): Promise<{ lookup: SourceVipLookup; file: string; text: string | undefined; change: FileChange | undefined } | undefined> {
    const { sourceVip } = this.options;
    if (!sourceVip || cniConfigInput(info, this.options).backend !== 'vxlan') return undefined;
    const lookup = await lookUpSourceVip(sourceVip.ipamDataDir, info.networkName, info.subnet as Ip4Net);
    const ip = lookup.keep?.ip ?? lookup.next?.ip;
    const text = ip === undefined ? undefined : formatSourceVipFile({ ip, subnet: formatIp4Net(lookup.subnet) });
    return { lookup, file: sourceVip.file, text, change: text === undefined ? undefined : await fileChangeFor(sourceVip.file, text) };
  }

  /** For /status. */
  status(): Record<string, unknown> {
    return {
      cniConfFile: this.options.confFile || undefined,
      cniConfWritten: this.confWritten,
      cniConfWrites: this.confWrites,
      serviceCidr: formatIp4Net(this.options.serviceCidr),
      sourceVip: this.vip ? { address: this.vip.ip, subnet: this.vip.subnet, reservation: this.vip.file, file: this.options.sourceVip?.file } : undefined,
      ...(this.lastError ? { error: this.lastError } : {}),
    };
  }
}
