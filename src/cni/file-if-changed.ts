import { readFile } from 'node:fs/promises';

/** Replaces a file so readers never see a torn write (the project's atomic writer). */
export type AtomicWrite = (path: string, text: string) => Promise<void>;

/** What writing `text` to a file would do: nothing (`undefined`), create it, or replace `current`. */
export type FileChange = { readonly op: 'create' } | { readonly op: 'replace'; readonly current: string };

/**
 * The one "does the file differ" decision: the file's text compared with `text`, byte for byte.
 * Reads only; a missing file is a create, any other read error throws.
 */
export async function fileChangeFor(path: string, text: string): Promise<FileChange | undefined> {
  const current = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (current === undefined) return { op: 'create' };
  return current === text ? undefined : { op: 'replace', current };
}

/**
 * Writes `text` to `path` only when the file on disk holds something else (fileChangeFor), so a
 * restart with nothing changed does not touch the file (containerd and the CNI plugin watch and
 * read it). Returns true when it wrote.
 */
export async function writeFileIfChanged(path: string, text: string, write: AtomicWrite): Promise<boolean> {
  if ((await fileChangeFor(path, text)) === undefined) return false;
  await write(path, text);
  return true;
}
