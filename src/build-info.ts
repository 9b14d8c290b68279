import { readFileSync } from 'node:fs';

/** What `--version` prints and `flannel_win_build_info` carries. */
export interface BuildInfo {
  version: string;
  /** Short git commit the build came from ("-dirty" with local changes), or "unknown". */
  commit: string;
  /** ISO time of the build, or "unknown". */
  buildDate: string;
  /** The Node.js running the process. */
  node: string;
}

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(url, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value.slice(0, 100) : fallback;
}

/**
 * The package version from package.json and the commit and date the build script wrote next to
 * the compiled code (dist/build-info.json); "unknown" for what is missing, never an error.
 */
export function readBuildInfo(): BuildInfo {
  // Compiled to dist/src/build-info.js: the package root is two levels up, dist/ one.
  const pkg = readJson(new URL('../../package.json', import.meta.url));
  const built = readJson(new URL('../build-info.json', import.meta.url));
  return {
    version: text(pkg?.['version'], 'dev'),
    commit: text(built?.['commit'], 'unknown'),
    buildDate: text(built?.['buildDate'], 'unknown'),
    node: process.versions.node,
  };
}

/**
 * koffi's version and the platform its native code is for, or why it cannot load. koffi is
 * imported only here (and by the HCN driver), so `--version` works without Windows.
 */
export async function describeKoffi(): Promise<string> {
  try {
    const koffi = (await import('koffi')).default as { version?: string };
    return `${koffi.version ?? 'unknown'} (${process.platform}-${process.arch})`;
  } catch (err) {
    return `not loadable on ${process.platform}-${process.arch}: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`;
  }
}

/** The lines `flannel-win --version` prints: the bare version first, as flanneld does. */
export async function versionText(info: BuildInfo = readBuildInfo()): Promise<string> {
  return [info.version, `commit: ${info.commit}`, `build date: ${info.buildDate}`, `node: v${info.node}`, `koffi: ${await describeKoffi()}`, ''].join('\n');
}
