import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFile(new URL(path, ROOT), 'utf8');

/** The production install command of Dockerfile.windows, as the recipe runs it. */
async function recipeInstallArgs(): Promise<string[]> {
  const dockerfile = await read('Dockerfile.windows');
  const match = /npm ci (--omit=dev[^&\n\\]*)/.exec(dockerfile);
  if (!match) throw new Error('Dockerfile.windows has no production "npm ci --omit=dev ..." step');
  return match[1]!.trim().split(/\s+/);
}

/** What `npm ci` with these flags would add, from the lockfile alone (--dry-run: no download). */
async function resolvedSet(args: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-image-'));
  for (const f of ['package.json', 'package-lock.json']) await copyFile(fileURLToPath(new URL(f, ROOT)), join(dir, f));
  const r = spawnSync('npm', ['ci', ...args, '--dry-run', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ci --dry-run failed: ${r.stderr}`);
  return [...r.stdout.matchAll(/^add (\S+) (\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`);
}

test.serial('the recipe installs production dependencies for Windows x64', async (t) => {
  const args = await recipeInstallArgs();
  for (const flag of ['--omit=dev', '--os=win32', '--cpu=x64']) t.true(args.includes(flag), `${flag} in ${args.join(' ')}`);
});

test.serial("koffi's Windows binary is in the dependency set the recipe installs; the Linux one and dev tools are not", async (t) => {
  const lock = JSON.parse(await read('package-lock.json')) as { packages: Record<string, { version: string; os?: string[]; cpu?: string[]; optional?: boolean; dev?: boolean }> };
  const koffi = lock.packages['node_modules/koffi']!;
  const win = lock.packages['node_modules/@koromix/koffi-win32-x64'];
  t.truthy(win, 'the lockfile records the Windows x64 koffi package');
  t.deepEqual([win?.os, win?.cpu, win?.version, win?.dev], [['win32'], ['x64'], koffi.version, undefined]);

  const set = await resolvedSet(await recipeInstallArgs());
  t.true(set.includes(`@koromix/koffi-win32-x64@${koffi.version}`), set.filter((p) => p.includes('koffi')).join(', '));
  t.true(set.includes(`koffi@${koffi.version}`));
  t.false(set.some((p) => p.startsWith('@koromix/koffi-linux')), 'no Linux koffi binary in a Windows image');
  t.false(set.some((p) => p.startsWith('typescript@') || p.startsWith('ava@')), 'no dev dependency');
});

test.serial('without --os/--cpu, npm on this Linux host would leave the Windows binary out (what the recipe must avoid)', async (t) => {
  const set = await resolvedSet(['--omit=dev', '--os=linux', '--cpu=x64']);
  t.false(set.some((p) => p.startsWith('@koromix/koffi-win32-x64')));
});

test.serial('node.exe is pinned with its registry integrity, and every downloaded binary is checksum-verified', async (t) => {
  const dockerfile = await read('Dockerfile.windows');
  t.regex(dockerfile, /ARG NODE_WIN_VERSION=\d+\.\d+\.\d+/);
  t.regex(dockerfile, /ARG NODE_WIN_INTEGRITY=sha512-[A-Za-z0-9+/=]{88}/);
  const urls = [...dockerfile.matchAll(/curl -fsSLO? "([^"]+)"/g)].map((m) => m[1]!);
  const binaries = urls.filter((u) => !u.endsWith('.sha256'));
  t.is(binaries.length, 3, 'flannel CNI archive, CNI plugins archive, kube-proxy.exe');
  for (const url of binaries) t.true(urls.includes(`${url}.sha256`), `${url} is fetched with its published .sha256`);
  t.is(dockerfile.match(/&& verify-sha256 /g)?.length, binaries.length, 'each download is checked by verify-sha256');
  const pkg = JSON.parse(await read('package.json')) as { devDependencies: Record<string, string> };
  t.is(/ARG NODE_WIN_VERSION=(\S+)/.exec(dockerfile)?.[1], pkg.devDependencies['node'], "node.exe is the same Node the project's scripts run on");
});
