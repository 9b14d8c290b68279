/**
 * The endpoint writes a daemon child process made, read from the simulated host's debug lines
 * ("simulated HNS write", call HcnModifyEndpoint, with the endpoint id and the log line's time:
 * when the simulated HNS received the call, to the millisecond). The state file cannot time
 * them: it is flushed tens of milliseconds after a change, later the larger the host.
 * The daemon must run with `--log-level=debug`.
 */
import type { DaemonProcess, LogLine } from '../../test/support/daemon-process.js';

export interface EndpointWrite {
  /** Endpoint id, lower case. */
  readonly id: string;
  /** Wall-clock ms (Date.now() in the daemon) when the simulated HNS received the call. */
  readonly at: number;
}

function endpointWrite(line: LogLine): EndpointWrite | undefined {
  if (line.msg !== 'simulated HNS write' || line['call'] !== 'HcnModifyEndpoint') return undefined;
  const id = line['id'];
  const time = line['time'];
  // The daemon logs ISO 8601 times (millisecond precision); pino's default is epoch ms.
  const at = typeof time === 'string' ? Date.parse(time) : time;
  if (typeof id !== 'string' || typeof at !== 'number' || Number.isNaN(at)) return undefined;
  return { id: id.toLowerCase(), at };
}

export class EndpointWriteLog {
  readonly #daemon: DaemonProcess;
  #scanned = 0;
  readonly #writes: EndpointWrite[] = [];

  constructor(daemon: DaemonProcess) {
    this.#daemon = daemon;
  }

  /** Every endpoint write logged so far, oldest first. */
  get all(): readonly EndpointWrite[] {
    const logs = this.#daemon.logs;
    for (; this.#scanned < logs.length; this.#scanned++) {
      const write = endpointWrite(logs[this.#scanned]!);
      if (write) this.#writes.push(write);
    }
    return this.#writes;
  }

  /** A position to read the later writes from. */
  mark(): number {
    return this.all.length;
  }

  since(mark: number): readonly EndpointWrite[] {
    return this.all.slice(mark);
  }

  /** Endpoint ids written since `mark`, with how many times each. */
  countsSince(mark: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const w of this.since(mark)) counts.set(w.id, (counts.get(w.id) ?? 0) + 1);
    return counts;
  }
}
