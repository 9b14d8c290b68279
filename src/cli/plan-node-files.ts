/**
 * `plan`'s file writes: subnet.env and the CNI config, each compared with the text the daemon
 * would write (subnetEnvText; the CNI setup's own plannedConfig) by the daemon's own "does it
 * differ" decision (fileChangeFor), with what differs.
 * @module
 */
import type { PlannedWrite } from '../backends/backend.js';
import type { FileChange } from '../cni/file-if-changed.js';
import { fileChangeFor } from '../cni/file-if-changed.js';
import { parseSubnetEnv } from '../lease/subnet-env.js';
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
