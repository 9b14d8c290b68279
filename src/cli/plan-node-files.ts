/**
 * `plan`'s file writes: subnet.env and the CNI config, each compared with the text the daemon
 * would write (subnetEnvText; the CNI setup's own plannedConfig) by the daemon's own "does it
 * differ" decision (fileChangeFor), with what differs.
 * @module
 */
import type { PlannedWrite } from '../backends/backend.js';
import type { CniNodeSetup } from '../cni/node-cni-setup.js';
import type { FileChange } from '../cni/file-if-changed.js';
import { fileChangeFor } from '../cni/file-if-changed.js';
import { parseSubnetEnv } from '../lease/subnet-env.js';
import { formatIp4Net } from '../net/ip.js';
import { fieldDiff, fieldList } from '../reconcile/plan-writes.js';

/** The KEY=value pairs that differ, "KEY: old -> new" ("(none)" for a missing key). */
function subnetEnvFields(current: string, wanted: string): string[] {
  const before = parseSubnetEnv(current).raw;
  const after = parseSubnetEnv(wanted).raw;
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  const fields = keys.filter((k) => before.get(k) !== after.get(k)).map((k) => `${k}: ${before.get(k) ?? '(none)'} -> ${after.get(k) ?? '(none)'}`);
  // Same values, other bytes (CRLF, comments, quoting): rewritten as flannel writes it.
  return fields.length > 0 ? fields : ['same values, other formatting: rewritten in flannel\'s layout'];
}

/** subnet.env's write, or undefined when the file already holds `text`. */
export async function planSubnetEnv(path: string, text: string): Promise<PlannedWrite | undefined> {
  const change = await fileChangeFor(path, text);
  if (!change) return undefined;
  return {
    kind: 'file',
    key: path,
    op: change.op,
    fields: change.op === 'create' ? [...parseSubnetEnv(text).raw].map(([k, v]) => `${k}: ${v}`) : subnetEnvFields(change.current, text),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The CNI config's write with what differs, leaf by leaf ("plugins.0.delegate.ipMasq: false -> true"). */
export function cniConfigWrite(path: string, text: string, change: FileChange): PlannedWrite {
  const wanted = parseJson(text);
  if (change.op === 'create') return { kind: 'cni-config', key: path, op: 'create', fields: fieldList(wanted) };
  const current = parseJson(change.current);
  const fields = current === undefined ? ['the file is not JSON: rewritten whole'] : fieldDiff(current, wanted);
  return { kind: 'cni-config', key: path, op: 'replace', fields: fields.length > 0 ? fields : ['same values, other formatting: rewritten'] };
}

/**
 * kube-proxy's source VIP (vxlan): stale reservations removed, a new one created when none of
 * ours is kept (the address is the lowest free one now; host-local may take it first, and the
 * daemon then takes the next), and the source VIP file.
 */
export function sourceVipWrites(planned: NonNullable<Awaited<ReturnType<CniNodeSetup['plannedSourceVip']>>>): PlannedWrite[] {
  const { lookup } = planned;
  const subnet = formatIp4Net(lookup.subnet);
  const writes: PlannedWrite[] = lookup.stale.map((r) => ({ kind: 'source-vip', key: r.file, op: 'delete', fields: [`reservation of ${r.ip}, outside the node subnet ${subnet}`] }));
  if (!lookup.keep) {
    writes.push(
      lookup.next
        ? { kind: 'source-vip', key: lookup.next.file, op: 'create', fields: [`reservation of ${lookup.next.ip} for kube-proxy (the lowest free address in ${subnet} now)`] }
        : { kind: 'source-vip', key: lookup.dir, op: 'create', fields: [`no free address in ${subnet}: the reservation would fail (SOURCE_VIP_EXHAUSTED)`] },
    );
  }
  if (planned.text !== undefined && planned.change) {
    const wanted = parseJson(planned.text);
    const current = planned.change.op === 'replace' ? parseJson(planned.change.current) : undefined;
    const fields = planned.change.op === 'create' ? fieldList(wanted) : current === undefined ? ['the file is not JSON: rewritten whole'] : fieldDiff(current, wanted);
    writes.push({ kind: 'source-vip-file', key: planned.file, op: planned.change.op, fields });
  }
  return writes;
}
