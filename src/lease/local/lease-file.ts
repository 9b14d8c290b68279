/**
 * The local subnet manager's store: one JSON file shaped like flannel's etcd layout, so an
 * operator who knows etcd mode can read it at a glance.
 *
 * ```json
 * {
 *   "config": { "Network": "10.244.0.0/16", "Backend": { "Type": "vxlan", "VNI": 4096, "Port": 4789 } },
 *   "subnets": {
 *     "10.244.1.0-24": { "PublicIP": "192.168.1.11", "PublicIPv6": null, "BackendType": "vxlan",
 *                        "BackendData": { "VNI": 4096, "VtepMAC": "0a:58:0a:f4:01:01" } }
 *   }
 * }
 * ```
 *
 * `config` is net-conf.json; each `subnets` key is `<ip>-<prefix>` as in etcd and each value is
 * the lease JSON flannel writes. Local leases do not expire. Writers (the daemon, the demo's
 * simulated peers, an operator's script) serialise through a lock file next to it.
 * @module
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sleep } from '../../async/abortable-sleep.js';
import { Backoff, type BackoffPolicy } from '../../async/backoff.js';
import { writeFileAtomic } from '../../fs/atomic-file.js';
import { FlannelWinError } from '../../errors.js';
import { maskIp4Net, type Ip4Net } from '../../net/ip.js';
import { makeSubnetKey, parseSubnetKey as parseFlannelSubnetKey } from '../subnet-key.js';
import { decodeLeaseAttrs, encodeLeaseAttrs } from '../lease-json.js';
import type { LeaseAttrs } from '../types.js';

export class LeaseFileError extends FlannelWinError {}

/** The network the embedded default runs: flannel's documented default with Windows-safe vxlan settings. */
export const DEFAULT_LOCAL_NET_CONFIG = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } } as const;

export interface LeaseFileDocument {
  config?: unknown;
  subnets: Record<string, unknown>;
}

export interface LeaseFileEntry {
  key: string;
  subnet: Ip4Net;
  attrs: LeaseAttrs;
}

export interface LeaseFileProblem {
  key: string;
  message: string;
}

/** `10.244.1.0/24` ↔ `10.244.1.0-24`, as flannel names etcd keys. */
export function subnetKey(subnet: Ip4Net): string {
  return makeSubnetKey(subnet);
}

/** An IPv4 subnet key; undefined for anything else (a v6 pair, a host address, junk). */
export function parseSubnetKey(key: string): Ip4Net | undefined {
  try {
    const parsed = parseFlannelSubnetKey(key);
    // A host address (10.244.1.5-24) is not a subnet anyone allocated: reject it rather than guess.
    const masked = maskIp4Net(parsed.subnet);
    return parsed.ipv6Subnet === undefined && masked.ip === parsed.subnet.ip ? parsed.subnet : undefined;
  } catch {
    return undefined;
  }
}

export function parseLeaseFile(text: string, path: string): LeaseFileDocument {
  if (text.trim() === '') return { subnets: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new LeaseFileError('LEASE_FILE_INVALID', `${path}: malformed JSON: ${(err as Error).message}`, { path });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new LeaseFileError('LEASE_FILE_INVALID', `${path}: expected a JSON object with "config" and "subnets"`, { path });
  }
  const record = doc as Record<string, unknown>;
  const subnets = record.subnets ?? {};
  if (typeof subnets !== 'object' || subnets === null || Array.isArray(subnets)) {
    throw new LeaseFileError('LEASE_FILE_INVALID', `${path}: "subnets" must be an object keyed by <ip>-<prefix>`, { path });
  }
  return { ...(record.config !== undefined ? { config: record.config } : {}), subnets: subnets as Record<string, unknown> };
}

/** Decodes every entry; a bad one is reported and skipped, never fatal for the others. */
export function leaseEntries(doc: LeaseFileDocument): { entries: LeaseFileEntry[]; problems: LeaseFileProblem[] } {
  const entries: LeaseFileEntry[] = [];
  const problems: LeaseFileProblem[] = [];
  for (const [key, value] of Object.entries(doc.subnets)) {
    const subnet = parseSubnetKey(key);
    if (!subnet) {
      problems.push({ key, message: `"${key}" is not a subnet key of the form 10.244.1.0-24` });
      continue;
    }
    try {
      entries.push({ key, subnet, attrs: decodeLeaseAttrs(JSON.stringify(value), { key }) });
    } catch (err) {
      problems.push({ key, message: (err as Error).message });
    }
  }
  return { entries, problems };
}

export function leaseValue(attrs: LeaseAttrs): unknown {
  return JSON.parse(encodeLeaseAttrs(attrs));
}

export function formatLeaseFile(doc: LeaseFileDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export async function readLeaseFile(path: string): Promise<LeaseFileDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { subnets: {} };
    throw err;
  }
  return parseLeaseFile(text, path);
}

/** A change marker for polling: cheap to read, changes on every rename-replace. */
export async function leaseFileVersion(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
}

const LOCK_STALE_MS = 10_000;
/** Waiting for another writer's lock: 5 ms doubling to 50 ms, jittered so waiters spread out. */
const LOCK_WAIT: BackoffPolicy = { baseMs: 5, maxMs: 50, jitter: 0.5 };

/**
 * Read-modify-write under an exclusive lock file, then an atomic rename, so two writers never
 * lose each other's leases and a reader never sees half a file.
 */
export async function updateLeaseFile<T>(path: string, mutate: (doc: LeaseFileDocument) => T, signal?: AbortSignal): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const lock = `${path}.lock`;
  const lockWait = new Backoff(LOCK_WAIT);
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      // A writer killed while holding the lock must not block everyone forever.
      if (age > LOCK_STALE_MS) await rm(lock, { force: true });
      else await sleep(lockWait.next(), signal ?? new AbortController().signal);
    }
  }
  try {
    const doc = await readLeaseFile(path);
    const result = mutate(doc);
    await writeFileAtomic(path, formatLeaseFile(doc), { durable: true });
    return result;
  } finally {
    await rm(lock, { force: true });
  }
}
