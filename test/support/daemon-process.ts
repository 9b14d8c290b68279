import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** dist/main.js, the published entry, next to this file's compiled location (dist/test/support). */
export const MAIN_JS = fileURLToPath(new URL('../../main.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** pino's level numbers by name: the daemon writes names, tests compare numbers (warn = 40). */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

function withNumericLevel(line: LogLine): LogLine {
  const level = line.level as unknown;
  return typeof level === 'string' && LEVELS[level] !== undefined ? { ...line, levelName: level, level: LEVELS[level] } : line;
}

/**
 * flannel-win as a child process, as an operator runs it: real argv, real environment, JSON
 * log lines on stderr collected for assertions.
 */
export class DaemonProcess {
  readonly logs: LogLine[] = [];
  readonly rawStderr: string[] = [];
  stdout = '';
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.rawStderr.push(line);
        try {
          this.logs.push(withNumericLevel(JSON.parse(line) as LogLine));
        } catch {
          // Not a log line (usage text, a crash trace): kept in rawStderr.
        }
      }
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => (this.stdout += chunk));
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** `nodeFlags` go to node itself, before the script, as the DaemonSet passes its V8 options. */
  static start(args: readonly string[], env: Record<string, string | undefined> = {}, nodeFlags: readonly string[] = []): DaemonProcess {
    const child = spawn(process.execPath, [...nodeFlags, MAIN_JS, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new DaemonProcess(child);
  }

  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  async waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(() => (found = this.logs.find(predicate)) !== undefined, { timeoutMs, what: `${what}\n--- daemon stderr ---\n${this.rawStderr.slice(-40).join('\n')}` });
    return found!;
  }

  /** SIGTERM, as the kubelet stops a pod; resolves with the exit status. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }
}
