/**
 * The one way the daemon replaces a file that others read while it runs (subnet.env, which the
 * flannel CNI plugin reads at every pod start; the local lease file; the simulated host's
 * state): write a temp file beside the target, then rename it over the target, so a reader sees
 * the old content or the new, never half of it.
 *
 * Windows refuses to replace a file another process holds open (the rename fails with EPERM,
 * EACCES or EBUSY while the CNI plugin is reading subnet.env); there the rename is retried with
 * back-off for a bounded time. Elsewhere those codes mean a real permission problem and fail at
 * once.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename as fsRename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sleep } from '../async/abortable-sleep.js';
import { Backoff, type BackoffPolicy } from '../async/backoff.js';
import { describeError, FlannelWinError } from '../errors.js';

/** Codes with which Windows refuses a rename over a file that another process has open. */
const SHARING_VIOLATION_CODES: ReadonlySet<string> = new Set(['EPERM', 'EACCES', 'EBUSY']);

/** About 4 s in all before giving up: far longer than a CNI plugin holds subnet.env open. */
export const DEFAULT_RENAME_RETRY: RenameRetry = { attempts: 10, backoff: { baseMs: 20, maxMs: 1_000, jitter: 0.5 } };

export interface RenameRetry {
  /** Rename attempts in all, the first included. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

export interface AtomicWriteOptions {
  /**
   * fsync the data before the rename and (where a directory can be opened, not on Windows) the
   * directory after it, so the new content survives a power cut. @default true
   */
  durable?: boolean;
  /** Mode of a newly created file. @default 0o644 */
  mode?: number;
  renameRetry?: RenameRetry;
  /** Ends the retries early. */
  signal?: AbortSignal;
  /** Injected for tests; the real ones by default. */
  platform?: NodeJS.Platform;
  rename?: (from: string, to: string) => Promise<void>;
  random?: () => number;
}

/** The file could not be replaced; the old content (if any) is still there, no temp file is left. */
export class AtomicWriteError extends FlannelWinError {
  constructor(path: string, attempts: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      'ATOMIC_WRITE_FAILED',
      `cannot replace ${path}${attempts > 1 ? ` after ${attempts} attempts (another process keeps it open?)` : ''}: ${describeError(cause)}`,
      { path, attempts, ...(code ? { errno: code } : {}) },
      { cause },
    );
  }
}

/** Replaces `path` with `data` atomically (see the module comment); creates the directory. */
export async function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const platform = options.platform ?? process.platform;
  const rename = options.rename ?? fsRename;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let attempts = 0;
  try {
    const handle = await open(temp, 'w', options.mode ?? 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    const retry = options.renameRetry ?? DEFAULT_RENAME_RETRY;
    const backoff = new Backoff(retry.backoff, options.random);
    for (;;) {
      attempts++;
      try {
        await rename(temp, path);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const retryable = platform === 'win32' && SHARING_VIOLATION_CODES.has(code);
        if (!retryable || attempts >= retry.attempts || options.signal?.aborted) throw err;
        const wait = backoff.next();
        if (options.signal) await sleep(wait, options.signal);
        else await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw new AtomicWriteError(path, Math.max(attempts, 1), err);
  }
  if (durable && platform !== 'win32') {
    // Make the rename itself durable; Windows cannot open a directory for fsync.
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
