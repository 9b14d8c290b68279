import { readHostFile } from './state-view.js';
import { writeSimStateAtomically, type SimStateDocument } from './state-file.js';
import { withStateFileLock } from './state-lock.js';

/**
 * Edits a simulated host's file from outside the simulator (a test making drift, the demo, a
 * script) the safe way: under the file's lock, read, change, replace atomically. A running
 * daemon then merges the edit at its next call and can never write over it half-seen.
 */
export async function editSimStateFile(file: string, mutate: (state: SimStateDocument) => void): Promise<SimStateDocument> {
  return withStateFileLock(file, async () => {
    const state = await readHostFile(file);
    mutate(state);
    await writeSimStateAtomically(file, state);
    return state;
  });
}
