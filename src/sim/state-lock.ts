import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { FlannelWinError } from '../errors.js';

export interface FileLockOptions {
  /** A lock older than this is taken to belong to a process that died holding it. */
  staleMs?: number;
  /** How long to wait for the lock before failing. */
  timeoutMs?: number;
}

/**
 * Runs `critical` while holding `<file>.lock` (created exclusively), so the processes sharing a
 * simulated host's state file (the daemon and `flannel-win sim …`) compare-and-write it one at a
 * time. The section is a stat, perhaps a read and a merge, and one atomic write: milliseconds.
 */
export async function withStateFileLock<T>(file: string, critical: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const lock = `${file}.lock`;
  const staleMs = options.staleMs ?? 10_000;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > staleMs) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new FlannelWinError('SIM_STATE_LOCKED', 'the simulated host state file stays locked by another process', { file, lock });
      }
      await delay(Math.min(2 + attempt * 2, 25));
    }
  }
  try {
    return await critical();
  } finally {
    await rm(lock, { force: true });
  }
}
