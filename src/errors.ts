/**
 * Base class for every error the daemon raises on purpose. `code` is stable and machine-readable
 * (tests and health output match on it); `context` holds what an operator needs to find the
 * object involved (lease, endpoint, HNS call, file, flag).
 */
export class FlannelWinError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/**
 * grpc-js (under etcd3) ends a connection failure with "Resolution note: " and nothing after
 * it when name resolution had nothing to say: noise in every etcd error an operator reads.
 */
const EMPTY_RESOLUTION_NOTE = /\.?\s*Resolution note:\s*$/;

/** Turns anything thrown into a message that is safe to log. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.replace(EMPTY_RESOLUTION_NOTE, '');
  return String(err);
}

/** True when `err` is the rejection an aborted AbortSignal produces. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}
