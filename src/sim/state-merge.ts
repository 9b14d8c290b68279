/**
 * Three-way merge of simulated-host documents, so two processes that change one state file
 * (the daemon, and `flannel-win sim endpoint add` playing the CNI) never lose each other's
 * changes: each keeps what the other changed since the version both started from.
 *
 * Objects are keyed (networks and endpoints by ID, interfaces by index, routes by destination,
 * next hop and interface). For each key: the side that did not change it since `base` takes the
 * other side's version; when both changed a network or an endpoint, their policy lists merge as
 * sets; otherwise `theirs` (what is in the file, an outside edit or another process's write)
 * wins and the key is reported as a conflict. Counters are ours plus
 * whatever the file gained since `base` (an operator's edit never takes counts away).
 *
 * Pure.
 * @module
 */
import { canonicalJson, normaliseGuid } from './identity.js';
import type { SimStateDocument } from './state-file.js';

export interface StateMergeResult {
  merged: SimStateDocument;
  /** Keys both sides changed (theirs kept), e.g. "endpoints/3f0d…". */
  conflicts: string[];
  /** True when the merge holds an object the file (`theirs`) does not: it must be written. */
  keepsOurs: boolean;
  /** True when the merged counters differ from the file's (worth saving with the next write). */
  countsDiffer: boolean;
}

type Keyed<T> = (item: T) => string;

/** Merges one object both sides changed; undefined when they cannot be merged (theirs wins). */
type BothChanged<T> = (base: T, ours: T, theirs: T) => { value: T; conflict: boolean } | undefined;

function mergeList<T>(kind: string, key: Keyed<T>, base: readonly T[], ours: readonly T[], theirs: readonly T[], conflicts: string[], bothChanged?: BothChanged<T>): { items: T[]; keepsOurs: boolean } {
  const index = (items: readonly T[]): Map<string, T> => new Map(items.map((item) => [key(item), item]));
  const b = index(base);
  const o = index(ours);
  const th = index(theirs);
  const same = (x: T | undefined, y: T | undefined): boolean => (x === undefined || y === undefined ? x === y : canonicalJson(x) === canonicalJson(y));
  let keepsOurs = false;
  const pick = (k: string): T | undefined => {
    const bv = b.get(k);
    const ov = o.get(k);
    const tv = th.get(k);
    if (same(ov, bv)) return tv;
    if (same(tv, bv)) {
      if (!same(ov, tv)) keepsOurs = true;
      return ov;
    }
    if (same(ov, tv)) return tv;
    const merged = bv !== undefined && ov !== undefined && tv !== undefined ? bothChanged?.(bv, ov, tv) : undefined;
    if (merged) {
      if (merged.conflict) conflicts.push(`${kind}/${k}`);
      if (!same(merged.value, tv)) keepsOurs = true;
      return merged.value;
    }
    conflicts.push(`${kind}/${k}`);
    return tv;
  };
  const items: T[] = [];
  const seen = new Set<string>();
  for (const k of [...th.keys(), ...o.keys()]) {
    if (seen.has(k)) continue;
    seen.add(k);
    const value = pick(k);
    if (value !== undefined) items.push(value);
  }
  // Keys only in base: both deleted them, or one deleted and the other kept them unchanged.
  for (const k of b.keys()) if (!seen.has(k)) pick(k);
  return { items, keepsOurs };
}

const guidKey = (item: { ID: string }): string => normaliseGuid(item.ID) ?? item.ID;

/**
 * A network or endpoint both sides changed: its policies merge as a set (one side adds a
 * RemoteSubnetRoute while the other deletes another, both hold); the rest of the document
 * must be changed by one side only, else theirs wins and it is a conflict.
 */
function mergePolicyHolder<T extends { Policies?: unknown[] }>(base: T, ours: T, theirs: T): { value: T; conflict: boolean } {
  const { Policies: bp = [], ...bRest } = base;
  const { Policies: op = [], ...oRest } = ours;
  const { Policies: tp = [], ...tRest } = theirs;
  const conflicts: string[] = [];
  const policies = mergeList('policies', canonicalJson, bp, op, tp, conflicts).items;
  const b = canonicalJson(bRest);
  const o = canonicalJson(oRest);
  const t = canonicalJson(tRest);
  const rest = o === b ? tRest : t === b ? oRest : tRest;
  const value = theirs.Policies !== undefined || ours.Policies !== undefined || policies.length > 0 ? { ...rest, Policies: policies } : rest;
  return { value: value as unknown as T, conflict: o !== b && t !== b && o !== t };
}

export function mergeSimStates(base: SimStateDocument, ours: SimStateDocument, theirs: SimStateDocument): StateMergeResult {
  const conflicts: string[] = [];
  const networks = mergeList('networks', guidKey, base.networks, ours.networks, theirs.networks, conflicts, mergePolicyHolder);
  const endpoints = mergeList('endpoints', guidKey, base.endpoints, ours.endpoints, theirs.endpoints, conflicts, mergePolicyHolder);
  const interfaces = mergeList('interfaces', (i) => String(i.index), base.interfaces, ours.interfaces, theirs.interfaces, conflicts);
  const routes = mergeList('routes', (r) => `${r.destination}|${r.nextHop}|${r.interfaceIndex}`, base.routes, ours.routes, theirs.routes, conflicts);
  const counters: Record<string, number> = { ...ours.counters };
  let countersDiffer = false;
  for (const name of new Set([...Object.keys(ours.counters), ...Object.keys(theirs.counters)])) {
    const gained = Math.max(0, (theirs.counters[name] ?? 0) - (base.counters[name] ?? 0));
    counters[name] = (ours.counters[name] ?? 0) + gained;
    if (counters[name] !== theirs.counters[name]) countersDiffer = true;
  }
  return {
    merged: { version: theirs.version, networks: networks.items, endpoints: endpoints.items, interfaces: interfaces.items, routes: routes.items, counters },
    conflicts,
    keepsOurs: networks.keepsOurs || endpoints.keepsOurs || interfaces.keepsOurs || routes.keepsOurs,
    countsDiffer: countersDiffer,
  };
}
