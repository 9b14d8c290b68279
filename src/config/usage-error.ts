import { FlannelWinError } from '../errors.js';

/**
 * A command line or FLANNELD_* environment value the daemon cannot accept.
 *
 * `exitCode` follows flanneld: its flag set uses Go's ExitOnError, so a command-line syntax
 * error (unknown flag, unparsable value) prints the usage and exits 2; a FLANNELD_* value that
 * does not parse, or a value out of range found after parsing, is logged and exits 1.
 * `showUsage` tells main whether to print usageText() after the message.
 */
export class UsageError extends FlannelWinError {
  readonly exitCode: 1 | 2;
  readonly showUsage: boolean;

  constructor(message: string, context: Record<string, unknown> = {}, exitCode: 1 | 2 = 2) {
    super('USAGE', message, context);
    this.exitCode = exitCode;
    this.showUsage = exitCode === 2;
  }
}
