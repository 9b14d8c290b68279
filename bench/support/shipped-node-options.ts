/**
 * The V8 options the DaemonSet passes to node.exe, read from the manifest itself, so that what
 * the benchmark calls "shipped" cannot drift from what is shipped.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const MANIFEST = fileURLToPath(new URL('../../../manifests/flannel-win-daemonset.yml', import.meta.url));

/**
 * The `--max-…` V8 flags among the container's args, as one NODE_OPTIONS string; or, to size
 * them, whatever FLANNEL_WIN_BENCH_NODE_OPTIONS says.
 */
export async function shippedNodeOptions(): Promise<string> {
  const override = process.env['FLANNEL_WIN_BENCH_NODE_OPTIONS'];
  if (override) return override;
  const text = await readFile(MANIFEST, 'utf8');
  const flags = [...text.matchAll(/^\s*-\s*"(--max-[a-z-]+-size=\d+)"\s*$/gm)].map((m) => m[1]!);
  if (flags.length === 0) throw new Error(`no --max-…-size V8 option found among the args of ${MANIFEST}`);
  return flags.join(' ');
}
