// Writes dist/build-info.json (commit and build date) for `flannel-win --version` and the
// flannel_win_build_info metric. Outside a git checkout (a source tarball, a container build
// without .git) the commit is "unknown": build information must never fail the build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (!/^[0-9a-f]{7,40}$/.test(commit)) return 'unknown';
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? commit : `${commit}-dirty`;
  } catch {
    return 'unknown';
  }
}

try {
  // FLANNEL_WIN_COMMIT lets a build without .git (a container build) still name its commit.
  const commit = process.env.FLANNEL_WIN_COMMIT || gitCommit();
  mkdirSync('dist', { recursive: true });
  writeFileSync('dist/build-info.json', `${JSON.stringify({ commit, buildDate: new Date().toISOString() })}\n`);
} catch (err) {
  process.stderr.write(`build info not written (version output will say "unknown"): ${err instanceof Error ? err.message : String(err)}\n`);
}
