/**
 * # The simulated host's state file
 *
 * One JSON document per simulated Windows host, rewritten atomically (temp file + rename) a few
 * milliseconds after a change, and always on close. Operators may read it, and may edit it while
 * the simulator runs: the edit is picked up at the next call (that is how tests model drift).
 *
 * ```jsonc
 * {
 *   "version": 1,
 *   // HCN v2 network documents exactly as queries return them (key "ID", upper case), plus
 *   // "sim": {"adapter": "<physical adapter>"} for networks that own a vSwitch.
 *   "networks": [
 *     { "ID": "3f0d…", "Name": "flannel.4096", "Type": "Overlay", "Flags": 8,
 *       "Ipams": [ … ], "SchemaVersion": { "Major": 2, "Minor": 0 },
 *       "Policies": [ { "Type": "DrMacAddress", "Settings": { "Address": "00-15-5D-3A-07-C1" } },
 *                     { "Type": "ProviderAddress", "Settings": { "ProviderAddress": "192.168.1.10" } },
 *                     { "Type": "RemoteSubnetRoute", "Settings": { … } } ],
 *       "sim": { "adapter": "Ethernet" } }
 *   ],
 *   // HCN v2 endpoint documents; "HostComputeNetwork" is the network's ID. "sim" records a
 *   // host attach: {"attachedToHost": true, "hostInterfaceIndex": 7}.
 *   "endpoints": [ { "ID": "…", "HostComputeNetwork": "3f0d…", "IpConfigurations": [ … ], "MacAddress": "…", "Policies": [ … ] } ],
 *   // Host interfaces (GetAdaptersAddresses view) plus simulator fields: "external" marks the
 *   // uplink, "vSwitchFor" the physical adapter a "vEthernet (…)" adapter replaced,
 *   // "forwarding" the per-family IP forwarding flags. "luid" is a decimal string (64-bit).
 *   "interfaces": [ { "index": 5, "name": "vEthernet (Ethernet)", "ipv4Addresses": ["192.168.1.10"], "ipv6Addresses": [],
 *                     "mtu": 1500, "up": true, "luid": "1688849944821760", "external": true,
 *                     "vSwitchFor": "Ethernet", "forwarding": { "ipv4": true, "ipv6": false } } ],
 *   // The IP forwarding table (both families), as RouteTable.listRoutes reports it.
 *   "routes": [ { "destination": "10.244.2.0/24", "nextHop": "192.168.1.12", "interfaceIndex": 5, "metric": 0, "protocol": 3 } ],
 *   // Calls received per operation since the file was created; "writes" is their total.
 *   "counters": { "createNetwork": 1, "modifyNetwork": 3, "addRoute": 2, "writes": 6, "reads": 12, "faults": 0 }
 * }
 * ```
 *
 * Missing arrays read as empty; unknown top-level keys are ignored. A file with another
 * `version`, or one that is not a JSON object, is refused (SIM_STATE_INVALID).
 */
import { readFile, stat } from 'node:fs/promises';
import { FlannelWinError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import type { HostRoute } from '../routes/route-table.js';
import type { StoredEndpoint, StoredNetwork } from './hns-model.js';
import type { SimInterface } from './host-net-model.js';

export const SIM_STATE_VERSION = 1;

export interface SimStateDocument {
  version: number;
  networks: StoredNetwork[];
  endpoints: StoredEndpoint[];
  interfaces: SimInterface[];
  routes: HostRoute[];
  counters: Record<string, number>;
}

export class SimStateError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super('SIM_STATE_INVALID', message, context, { cause });
  }
}

/** Parses and shape-checks a state document; the per-object contents are trusted. */
export function parseSimState(text: string, file: string): SimStateDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SimStateError(`state file is not JSON: ${(err as Error).message}`, { file }, err);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SimStateError('state file must hold a JSON object', { file });
  const doc = raw as Record<string, unknown>;
  if (doc['version'] !== SIM_STATE_VERSION) {
    throw new SimStateError(`unsupported state file version ${JSON.stringify(doc['version'])}`, { file, expected: SIM_STATE_VERSION });
  }
  const list = <T>(key: string): T[] => {
    const value = doc[key] ?? [];
    if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== 'object')) {
      throw new SimStateError(`"${key}" must be an array of objects`, { file, key });
    }
    return value as T[];
  };
  const counters = doc['counters'] ?? {};
  if (counters === null || typeof counters !== 'object' || Array.isArray(counters)) throw new SimStateError('"counters" must be an object', { file });
  const networks = list<StoredNetwork>('networks');
  const endpoints = list<StoredEndpoint>('endpoints');
  for (const [key, items] of [['networks', networks], ['endpoints', endpoints]] as const) {
    const bad = items.findIndex((item) => typeof item.ID !== 'string');
    if (bad >= 0) throw new SimStateError(`${key}[${bad}] has no string "ID"`, { file });
  }
  return {
    version: SIM_STATE_VERSION,
    networks,
    endpoints,
    interfaces: list<SimInterface>('interfaces'),
    routes: list<HostRoute>('routes'),
    counters: Object.fromEntries(Object.entries(counters).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
  };
}

/** Two-space indentation: readable for an operator, still one parse for the simulator. */
export function formatSimState(doc: SimStateDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Identifies one version of the file. Inode catches replace-by-rename (how editors and we
 * save), size and nanosecond mtime/ctime catch in-place edits.
 */
export async function fileFingerprint(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** One version of the file: its text and the fingerprint that names exactly that text. */
export interface SimStateVersion {
  text: string;
  fingerprint: string;
}

/**
 * Reads the file's text together with the fingerprint of the version read. Another process may
 * replace the file between a stat and a read. A fingerprint taken after the read can then name
 * a newer version than the text: that version's changes are taken as already known and are
 * written over without a merge. One taken before it can name a version already gone, and a
 * filesystem hands a freed inode to the next file written (same coarse timestamp, often the same
 * size), so a later version can carry that very fingerprint and go unnoticed. So the file is
 * stat'ed before and after the read, and read again until both agree. Undefined when the file
 * does not exist.
 */
export async function readSimStateVersion(file: string): Promise<SimStateVersion | undefined> {
  for (let attempt = 0; ; attempt++) {
    const before = await fileFingerprint(file);
    if (before === undefined) return undefined;
    const text = await readIfPresent(file);
    if (text === undefined) return undefined;
    const after = await fileFingerprint(file);
    if (after === before) return { text, fingerprint: before };
    // Replaced while we read: a writer holds the file for milliseconds, so this settles fast.
    if (attempt >= 50) throw new SimStateError('the state file keeps changing while it is read', { file, attempts: attempt + 1 });
  }
}

export async function readSimState(file: string): Promise<SimStateDocument | undefined> {
  const text = await readIfPresent(file);
  return text === undefined ? undefined : parseSimState(text, file);
}

/** The file's text; undefined when it does not exist. */
async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Replaces the file with the whole document through the shared atomic writer (temp file, rename,
 * the rename retried on Windows while a reader holds the file open), so a reader sees the old or
 * the new document, never half of one. Not durable (no fsync): the file models a host for tests
 * and demos, not data that must survive a power cut. Returns the text written.
 */
export async function writeSimStateAtomically(file: string, doc: SimStateDocument): Promise<string> {
  try {
    // A fresh checkout has no .sim/ yet: writeFileAtomic creates the directory.
    const text = formatSimState(doc);
    await writeFileAtomic(file, text, { durable: false });
    return text;
  } catch (err) {
    throw new FlannelWinError('SIM_STATE_WRITE_FAILED', `cannot write the simulator state file: ${(err as Error).message}`, { file }, { cause: err });
  }
}
