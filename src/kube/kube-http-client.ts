import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeClientConfig } from './kube-config.js';
import { GoneError, HttpStatusError, KubeApiError, WatchSilentError } from './errors.js';

/** What a request is about, for error messages: `list` + `pods`, `patch` + `node "a" status`. */
export interface CallContext {
  readonly call: string;
  readonly object: string;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * The few HTTP exchanges the daemon has with the API server, over node:https (no client
 * library on the path: see kube-config.ts). Every call takes an AbortSignal that really
 * cancels the request.
 */
export class KubeHttpClient {
  readonly #config: KubeClientConfig;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(config: KubeClientConfig) {
    this.#config = config;
  }

  /**
   * A JSON request; resolves with the parsed answer of a 2xx.
   * @throws GoneError for 410, KubeApiError for any other failure (with `status` when answered).
   */
  async json(method: string, path: string, query: Query, body: unknown, contentType: string | undefined, context: CallContext, signal: AbortSignal): Promise<unknown> {
    const text = await this.text(method, path, query, body, contentType, context, signal);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new KubeApiError(context.call, context.object, new Error(`the answer is not JSON: ${String(err)}`));
    }
  }

  /**
   * A request whose 2xx answer the caller reads itself (a list page, read item by item).
   * @throws GoneError for 410, KubeApiError for any other failure (with `status` when answered).
   */
  async text(method: string, path: string, query: Query, body: unknown, contentType: string | undefined, context: CallContext, signal: AbortSignal): Promise<string> {
    const res = await this.#send(method, path, query, body, contentType, context, signal);
    const text = await readBody(res, context, signal);
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return text;
    throw failure(res.statusCode ?? 0, text, context);
  }

  /**
   * A watch: streams the answer's lines to `onLine` until the server ends it (resolves).
   * @throws WatchSilentError after `silenceMs` without data, GoneError for a 410 answer,
   *   KubeApiError for any other failure; the signal's reason when aborted.
   */
  async stream(path: string, query: Query, silenceMs: number, onLine: (line: string) => void, context: CallContext, signal: AbortSignal): Promise<void> {
    const res = await this.#send('GET', path, query, undefined, undefined, context, signal);
    if (res.statusCode !== 200) throw failure(res.statusCode ?? 0, await readBody(res, context, signal), context);
    res.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => settle(new WatchSilentError(context.object, silenceMs)), silenceMs);
      };
      let settled = false;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        res.off('data', onData);
        if (err === undefined) resolve();
        else {
          res.destroy();
          reject(err);
        }
      };
      const onAbort = (): void => settle(signal.reason);
      const onData = (chunk: string): void => {
        arm();
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim() !== '') onLine(line);
          if (signal.aborted) return;
        }
      };
      res.on('data', onData);
      res.once('end', () => {
        if (rest.trim() !== '') onLine(rest);
        settle();
      });
      res.once('error', (err) => settle(new KubeApiError(context.call, context.object, err)));
      // A connection lost mid-stream may end with 'close' alone: never wait for the silence timer.
      res.once('close', () => settle(new KubeApiError(context.call, context.object, new Error('the connection closed before the stream ended'))));
      signal.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  async #send(method: string, path: string, query: Query, body: unknown, contentType: string | undefined, context: CallContext, signal: AbortSignal): Promise<IncomingMessage> {
    signal.throwIfAborted();
    let options;
    try {
      options = await this.#config.requestOptions();
    } catch (err) {
      throw new KubeApiError(context.call, context.object, err);
    }
    const url = new URL(this.#config.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (payload !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const requestOptions: RequestOptions = { method, headers, agent: this.#agent, signal, rejectUnauthorized: options.rejectUnauthorized };
    if (options.ca !== undefined) requestOptions.ca = options.ca;
    if (options.cert !== undefined) requestOptions.cert = options.cert;
    if (options.key !== undefined) requestOptions.key = options.key;
    if (options.servername !== undefined) requestOptions.servername = options.servername;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, requestOptions, resolve);
      req.once('error', (err) => reject(signal.aborted ? signal.reason : new KubeApiError(context.call, context.object, err)));
      req.end(payload);
    });
  }
}

/**
 * The whole body as text. Decoded chunk by chunk into V8 strings rather than gathered as
 * Buffers and concatenated: a page of 500 kubelet-sized nodes is ~4 MB, and as Buffers it was
 * held twice outside V8's heap (chunks, then their concatenation), memory the C allocator
 * keeps for the process long after it is freed.
 */
async function readBody(res: IncomingMessage, context: CallContext, signal: AbortSignal): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  try {
    for await (const chunk of res) text += chunk as string;
  } catch (err) {
    throw signal.aborted ? signal.reason : new KubeApiError(context.call, context.object, err);
  }
  return text;
}

/** A non-2xx answer; the API server's Status object gives the message. */
function failure(status: number, text: string, context: CallContext): KubeApiError {
  let message = text.slice(0, 200);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not a Status object: the text itself (bounded) is the message
  }
  const cause = new HttpStatusError(status, `HTTP ${status}: ${message}`);
  return status === 410 ? new GoneError(context.call, context.object, cause) : new KubeApiError(context.call, context.object, cause);
}
