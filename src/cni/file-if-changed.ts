import { readFile } from 'node:fs/promises';

/** Replaces a file so readers never see a torn write (the project's atomic writer). */
export type AtomicWrite = (path: string, text: string) => Promise<void>;

/**
 * Writes `text` to `path` only when the file on disk holds something else, so a restart with
 * nothing changed does not touch the file (containerd and the CNI plugin watch and read it).
 * Returns true when it wrote.
 */
export async function writeFileIfChanged(path: string, text: string, write: AtomicWrite): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (current === text) return false;
  await write(path, text);
  return true;
}
