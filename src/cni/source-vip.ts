import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FlannelWinError } from '../errors.js';
import { formatIp4, formatIp4Net, ip4NetContainsIp, ip4NetSize, maskIp4Net, tryParseIp4, type Ip4Net } from '../net/ip.js';

/**
 * The owner recorded in the reservation file, as host-local records a pod: container id, then
 * interface name. The same pair RKE2 uses, so a node moved from RKE2's flannel keeps its VIP.
 */
export const SOURCE_VIP_OWNER = { containerId: 'kube-proxy', ifname: 'source-vip' } as const;

/** host-local on Windows separates the two lines with CRLF. */
const RECORD = `${SOURCE_VIP_OWNER.containerId}\r\n${SOURCE_VIP_OWNER.ifname}`;

export class SourceVipError extends FlannelWinError {}

export interface SourceVipReservation {
  /** The reserved address, e.g. 10.244.3.2. */
  ip: string;
  /** The node subnet it was reserved in. */
  subnet: string;
  /** The reservation file in the host-local store. */
  file: string;
  /** True when an existing reservation was kept (a restart). */
  reused: boolean;
  /** Reservations of ours outside the current subnet (a node that re-joined), removed. */
  removedStale: string[];
}

/** The file names host-local uses: one per IPv4 address; anything else in the dir is not a reservation. */
function ownedReservations(entries: readonly string[], dir: string): Promise<{ ip: number; name: string }[]> {
  return Promise.all(
    entries.map(async (name) => {
      const ip = tryParseIp4(name);
      if (ip === undefined) return undefined;
      const text = await readFile(join(dir, name), 'utf8').catch(() => '');
      const [id, ifname] = text.split(/\r?\n/).map((s) => s.trim());
      return id === SOURCE_VIP_OWNER.containerId && ifname === SOURCE_VIP_OWNER.ifname ? { ip, name } : undefined;
    }),
  ).then((rows) => rows.filter((r): r is { ip: number; name: string } => r !== undefined));
}

/**
 * Addresses kube-proxy may use as its source VIP: inside the node subnet, not the network
 * address (HNS 0x803b002f), not `.1` (the gateway host-local and HNS use), not the broadcast.
 */
function usable(subnet: Ip4Net, ip: number): boolean {
  const first = subnet.ip;
  const last = (subnet.ip + ip4NetSize(subnet) - 1) >>> 0;
  return ip4NetContainsIp(subnet, ip) && ip !== first && ip !== ((first + 1) >>> 0) && ip !== last;
}

/** What the host-local store holds of ours for the node subnet, read without changing it. */
export interface SourceVipLookup {
  /** The node subnet, masked. */
  subnet: Ip4Net;
  /** `<dataDir>/<network name>`. */
  dir: string;
  /** Our reservation inside the subnet, kept. */
  keep: { ip: string; file: string } | undefined;
  /** Our reservations outside it (the node re-joined with another podCIDR), to be removed. */
  stale: { ip: string; file: string }[];
  /** Without `keep`: the lowest free usable address, the one a reservation would take now. */
  next: { ip: string; file: string } | undefined;
}

/**
 * Reads the host-local store for the source VIP of `nodeSubnet`: which reservation of ours is
 * kept, which are stale, and (when none is kept) which address a reservation would take now.
 * Changes nothing; a missing store directory holds nothing. `reserveSourceVip` acts on it, and
 * `plan` reports it.
 */
export async function lookUpSourceVip(dataDir: string, networkName: string, nodeSubnet: Ip4Net): Promise<SourceVipLookup> {
  const subnet = maskIp4Net(nodeSubnet);
  const dir = join(dataDir, networkName);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const ours = await ownedReservations(entries, dir);
  const kept = ours.find((r) => usable(subnet, r.ip));
  const at = (r: { ip: number; name: string }) => ({ ip: formatIp4(r.ip), file: join(dir, r.name) });
  const stale = ours.filter((r) => r !== kept).map(at);
  let next: SourceVipLookup['next'];
  if (!kept) {
    const taken = new Set(entries);
    const end = (subnet.ip + ip4NetSize(subnet)) >>> 0;
    for (let ip = (subnet.ip + 2) >>> 0; ip < end && !next; ip = (ip + 1) >>> 0) {
      if (usable(subnet, ip) && !taken.has(formatIp4(ip))) next = { ip: formatIp4(ip), file: join(dir, formatIp4(ip)) };
    }
  }
  return { subnet, dir, keep: kept ? at(kept) : undefined, stale, next };
}

/**
 * Reserves kube-proxy's source VIP in the host-local IPAM store the flannel CNI plugin uses
 * (`<dataDir>/<network name>/<ip>`), so host-local never gives that address to a pod. Keeps an
 * existing reservation of ours in the subnet (stable across restarts), removes ours outside it
 * (the node re-joined with another podCIDR), else takes the lowest free address from `.2` up
 * with an exclusive create, which is how host-local itself claims an address, so the two never
 * race to the same one.
 */
export async function reserveSourceVip(dataDir: string, networkName: string, nodeSubnet: Ip4Net): Promise<SourceVipReservation> {
  const { subnet, dir, keep, stale } = await lookUpSourceVip(dataDir, networkName, nodeSubnet);
  const subnetText = formatIp4Net(subnet);
  await mkdir(dir, { recursive: true });
  const removedStale: string[] = [];
  for (const r of stale) {
    await rm(r.file, { force: true });
    removedStale.push(r.ip);
  }
  if (keep) return { ip: keep.ip, subnet: subnetText, file: keep.file, reused: true, removedStale };

  const end = (subnet.ip + ip4NetSize(subnet)) >>> 0;
  for (let ip = (subnet.ip + 2) >>> 0; ip < end; ip = (ip + 1) >>> 0) {
    if (!usable(subnet, ip)) continue;
    const file = join(dir, formatIp4(ip));
    let handle;
    try {
      handle = await open(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new SourceVipError('SOURCE_VIP_RESERVE', `cannot reserve ${formatIp4(ip)} in the CNI IPAM store ${dir}: ${(err as Error).message}`, { file, subnet: subnetText }, { cause: err });
    }
    try {
      await handle.writeFile(RECORD, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { ip: formatIp4(ip), subnet: subnetText, file, reused: false, removedStale };
  }
  throw new SourceVipError('SOURCE_VIP_EXHAUSTED', `no free address in ${subnetText} for the kube-proxy source VIP: every address in ${dir} is taken`, { dir, subnet: subnetText });
}

/**
 * What kube-proxy's start script reads: a host-local ADD result (CNI 0.3.0 layout, `ips[0].address`
 * with the prefix), the format the sig-windows-tools scripts cached as sourceVip.json.
 */
export function formatSourceVipFile(reservation: Pick<SourceVipReservation, 'ip' | 'subnet'>): string {
  const prefixLen = reservation.subnet.split('/')[1] ?? '32';
  const gateway = formatIp4(((tryParseIp4(reservation.subnet.split('/')[0] ?? '') ?? 0) + 1) >>> 0);
  return `${JSON.stringify({ cniVersion: '0.3.0', ips: [{ version: '4', address: `${reservation.ip}/${prefixLen}`, gateway }], dns: {} }, null, 2)}\n`;
}
