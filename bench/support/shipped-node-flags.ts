/**
 * The V8 options the DaemonSet passes to node.exe, read from the manifest itself, so that what
 * the benchmark calls "shipped" cannot drift from what is shipped.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const MANIFEST = fileURLToPath(new URL('../../../manifests/flannel-win-daemonset.yml', import.meta.url));

/**
 * The V8 heap flags among the container's args (`--max-…-size`, `--heap-growing-percent`), in
 * their order; or, to size them, whatever FLANNEL_WIN_BENCH_NODE_FLAGS says (flags separated
 * by spaces). They go on node's command line, as the manifest puts them: V8 refuses some of them
 * in NODE_OPTIONS.
 */
export async function shippedNodeFlags(): Promise<string[]> {
  const override = process.env['FLANNEL_WIN_BENCH_NODE_FLAGS'];
  if (override) return override.split(' ').filter((flag) => flag !== '');
  const text = await readFile(MANIFEST, 'utf8');
  const flags = [...text.matchAll(/^\s*-\s*"(--(?:max-[a-z-]+-size|heap-growing-percent)=\d+)"\s*$/gm)].map((m) => m[1]!);
  if (flags.length === 0) throw new Error(`no V8 heap option found among the args of ${MANIFEST}`);
  return flags;
}
