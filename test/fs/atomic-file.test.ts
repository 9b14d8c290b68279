import test from 'ava';
import { mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtomicWriteError, writeFileAtomic, type RenameRetry } from '../../src/fs/atomic-file.js';

const FAST: RenameRetry = { attempts: 5, backoff: { baseMs: 1, maxMs: 4, jitter: 0 } };

async function target(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-atomic-'));
  const path = join(dir, 'subnet.env');
  await writeFile(path, 'OLD=1\n');
  return { dir, path };
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation not permitted, rename`), { code });
}

/** A rename that fails like Windows does while a reader holds the target open, `times` times. */
function heldOpen(code: string, times: number) {
  const calls: string[] = [];
  return {
    calls,
    rename: async (from: string, to: string) => {
      calls.push(to);
      if (calls.length <= times) throw errno(code);
      await rename(from, to);
    },
  };
}

for (const code of ['EPERM', 'EACCES', 'EBUSY']) {
  test(`on Windows a rename refused with ${code} is retried until the reader lets go`, async (t) => {
    const { dir, path } = await target();
    const held = heldOpen(code, 2);
    await writeFileAtomic(path, 'NEW=1\n', { platform: 'win32', rename: held.rename, renameRetry: FAST });
    t.is(held.calls.length, 3);
    t.is(await readFile(path, 'utf8'), 'NEW=1\n');
    t.deepEqual(await readdir(dir), ['subnet.env'], 'no temp file left');
  });
}

test('on Windows the retries are bounded; the old file stays and the error names the path and attempts', async (t) => {
  const { dir, path } = await target();
  const held = heldOpen('EBUSY', Infinity);
  const err = await t.throwsAsync(() => writeFileAtomic(path, 'NEW=1\n', { platform: 'win32', rename: held.rename, renameRetry: FAST }), { instanceOf: AtomicWriteError });
  t.is(held.calls.length, FAST.attempts);
  t.like(err!.context, { path, attempts: 5, errno: 'EBUSY' });
  t.regex(err!.message, /subnet\.env after 5 attempts/);
  t.is(await readFile(path, 'utf8'), 'OLD=1\n');
  t.deepEqual(await readdir(dir), ['subnet.env']);
});

test('elsewhere EPERM is a real permission problem: no retry', async (t) => {
  const { path } = await target();
  const held = heldOpen('EPERM', 1);
  await t.throwsAsync(() => writeFileAtomic(path, 'NEW=1\n', { platform: 'linux', rename: held.rename, renameRetry: FAST }), { instanceOf: AtomicWriteError });
  t.is(held.calls.length, 1);
  t.is(await readFile(path, 'utf8'), 'OLD=1\n');
});

test('on Windows other errors are not retried', async (t) => {
  const { path } = await target();
  const held = heldOpen('ENOSPC', 1);
  await t.throwsAsync(() => writeFileAtomic(path, 'NEW=1\n', { platform: 'win32', rename: held.rename, renameRetry: FAST }));
  t.is(held.calls.length, 1);
});

test('creates the directory and the file with the real rename', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-atomic-'));
  const path = join(dir, 'run', 'flannel', 'subnet.env');
  await writeFileAtomic(path, 'A=1\n');
  await writeFileAtomic(path, 'A=2\n', { durable: false });
  t.is(await readFile(path, 'utf8'), 'A=2\n');
  t.deepEqual(await readdir(join(dir, 'run', 'flannel')), ['subnet.env']);
});
