import { performance } from 'node:perf_hooks';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { createHash } from 'node:crypto';
import { fileFingerprint, parseSimState, readSimStateVersion, writeSimStateAtomically, type SimStateDocument } from './state-file.js';
import { withStateFileLock } from './state-lock.js';
import { mergeSimStates } from './state-merge.js';

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export interface StateSyncOptions {
  file: string;
  /** Minimum wait between a change and the write that persists it. */
  flushDelayMs: number;
  log: Logger;
  /** The in-memory state to persist, taken at the moment of writing. */
  snapshot: () => SimStateDocument;
  /**
   * Someone else changed the file: replace the in-memory state with `doc`, which is their
   * version merged with our changes since `baseText` (counters included).
   */
  adopt: (doc: SimStateDocument) => void;
  /** The fingerprint of the file as it was loaded or first written. */
  fingerprint: string | undefined;
  /** The file's text as loaded or first written: the version the in-memory state starts from. */
  baseText: string;
}

/**
 * Keeps one state file and the in-memory host in step, in both directions:
 * - out: changes are batched; one atomic rewrite happens `flushDelayMs` (or, for a big file, four
 *   times the last write's duration) after the first unsaved change, so a burst of calls costs one
 *   write and writing never takes more than a fifth of the time however large the state grows.
 *   The compare-and-write runs under `<file>.lock`, shared with every other process using the file.
 * - in: before each call, one stat compares the file with the version we last wrote or read;
 *   any other version was written by someone else and is merged in (state-merge.ts): their
 *   changes and our unsaved ones are both kept; where both changed one object, theirs wins.
 */
export class StateFileSync {
  private readonly opts: StateSyncOptions;
  private fingerprint: string | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private checking: Promise<void> | undefined;
  private queuedCheck: Promise<void> | undefined;
  /** Bumped when a write starts, so a stat taken before it is not mistaken for a foreign edit. */
  private generation = 0;
  private lastWriteMs = 0;
  /** Digest of the text we last wrote: a file that still holds it is ours, whatever stat says. */
  private lastWritten: string | undefined;
  /** The file version our in-memory state descends from (the base of a three-way merge). */
  private baseText: string;
  private closed = false;
  /** Completed file writes, for tests and the cost benchmark. */
  fileWrites = 0;
  /** Foreign edits adopted. */
  reloads = 0;

  constructor(opts: StateSyncOptions) {
    this.opts = opts;
    this.fingerprint = opts.fingerprint;
    this.baseText = opts.baseText;
  }

  /** A change to persist soon. */
  changed(): void {
    this.dirty = true;
    this.schedule();
  }

  /** A change worth persisting with the next write but not worth a write of its own. */
  touched(): void {
    this.dirty = true;
  }

  /**
   * Adopts a foreign edit if there is one. Cheap (one stat) when nothing changed. A check that
   * started before this call may have missed an edit made since, so concurrent callers share at
   * most one check queued behind the running one.
   */
  refresh(): Promise<void> {
    if (!this.checking) return this.startCheck();
    const next = (): Promise<void> => {
      this.queuedCheck = undefined;
      return this.startCheck();
    };
    this.queuedCheck ??= this.checking.then(next, next);
    return this.queuedCheck;
  }

  private startCheck(): Promise<void> {
    // Even while we write (when the result is discarded) the stat is made: it keeps every call
    // a real I/O turn, so a caller's tight loop cannot starve the pending write of the event loop.
    const running: Promise<void> = this.check().finally(() => {
      if (this.checking === running) this.checking = undefined;
    });
    this.checking = running;
    return running;
  }

  /** Writes unsaved changes now (waiting for a write in progress first). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.writing) await this.writing;
    if (!this.dirty) return;
    this.writing = this.writeOnce().finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const delay = Math.max(this.opts.flushDelayMs, this.lastWriteMs * 4);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: unknown) => {
        this.opts.log.error({ file: this.opts.file, err: describeError(err) }, 'simulator state file write failed; will retry');
        this.schedule();
      });
    }, delay);
  }

  private async check(): Promise<void> {
    const generation = this.generation;
    const current = await fileFingerprint(this.opts.file);
    if (this.generation !== generation || this.writing || current === this.fingerprint) return;
    if (current === undefined) {
      this.opts.log.warn({ file: this.opts.file }, 'simulator state file disappeared; writing it again from memory');
      this.fingerprint = undefined;
      this.changed();
      return;
    }
    await this.adopt(current, generation);
  }

  /**
   * What the file now holds: 'ours' (our last write), 'adopted' (someone else's edit, now the
   * host), 'merged' (their edit plus unsaved changes of ours, to be written), 'unreadable' (kept
   * out until the next edit), or 'stale' (a write of ours raced it).
   */
  private async adopt(current: string, generation: number): Promise<'ours' | 'adopted' | 'merged' | 'unreadable' | 'stale'> {
    let doc: SimStateDocument | undefined;
    let text = '';
    try {
      // The fingerprint recorded below must name the version read, not the one `current` saw:
      // the file may have been replaced in between (see readSimStateVersion).
      const version = await readSimStateVersion(this.opts.file);
      if (version === undefined) return 'stale';
      text = version.text;
      current = version.fingerprint;
      // stat metadata can change without anyone editing (inode reuse, clock granularity); only
      // a different content is someone else's edit. Adopting our own write would drop changes
      // made since it started.
      if (this.lastWritten !== undefined && digest(text) === this.lastWritten) {
        if (this.generation === generation) this.fingerprint = current;
        return 'ours';
      }
      doc = parseSimState(text, this.opts.file);
    } catch (err) {
      // Probably an operator mid-edit: keep serving the last good state, look again after the next edit.
      this.opts.log.error({ file: this.opts.file, err: describeError(err) }, 'ignoring an unreadable edit of the simulator state file');
      this.fingerprint = current;
      return 'unreadable';
    }
    if (this.generation !== generation || doc === undefined) return 'stale';
    const { merged, conflicts, keepsOurs, countsDiffer } = mergeSimStates(parseSimState(this.baseText, this.opts.file), this.opts.snapshot(), doc);
    if (conflicts.length > 0) {
      this.opts.log.warn({ file: this.opts.file, conflicts: conflicts.slice(0, 20), count: conflicts.length }, 'state file edited outside the simulator; where both changed an object, the edit wins');
    }
    this.opts.adopt(merged);
    this.fingerprint = current;
    this.baseText = text;
    this.reloads++;
    if (keepsOurs) {
      this.changed();
      return 'merged';
    }
    // Counts alone are not worth a write of their own; they go with the next change.
    this.dirty = countsDiffer;
    return 'adopted';
  }

  private writeOnce(): Promise<void> {
    return withStateFileLock(this.opts.file, async () => {
      const generation = ++this.generation;
      // An edit made since we last looked is merged in before we write over it.
      const current = await fileFingerprint(this.opts.file);
      if (current !== undefined && current !== this.fingerprint) {
        const verdict = await this.adopt(current, generation);
        // The file already holds everything (their edit, nothing of ours), or is being typed:
        // do not write over it.
        if (verdict === 'adopted' || verdict === 'unreadable') return;
      }
      const started = performance.now();
      const doc = this.opts.snapshot();
      this.dirty = false;
      let text: string;
      try {
        text = await writeSimStateAtomically(this.opts.file, doc);
      } catch (err) {
        this.dirty = true;
        throw err;
      }
      this.lastWritten = digest(text);
      this.baseText = text;
      this.fingerprint = await fileFingerprint(this.opts.file);
      this.lastWriteMs = performance.now() - started;
      this.fileWrites++;
    });
  }
}
