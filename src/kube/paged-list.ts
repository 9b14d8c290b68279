import type { KubeHttpClient } from './kube-http-client.js';
import { KubeApiError } from './errors.js';
import { splitListBody } from './list-body.js';

/** A part of one page of a list: raw JSON items, read by the caller's own reader. */
export interface ListPage {
  readonly items: readonly unknown[];
  /** The list's resourceVersion (the same on every page of one list). */
  readonly resourceVersion: string;
}

export interface PagedListRequest {
  /** e.g. `/api/v1/pods`. */
  readonly path: string;
  /** For messages: `pods`, `nodes (metadata.name=a)`. */
  readonly what: string;
  readonly fieldSelector?: string | undefined;
  /** Objects per page; the server may return fewer. */
  readonly pageSize: number;
}

/** Page size of every list: large enough for few round trips, small enough to bound memory. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Items parsed and handed over at a time: a page's text is held whole, but never its parsed
 * graph (~6 times the text for kubelet-sized nodes), so each batch is garbage before the young
 * generation (1 MiB semi-spaces as shipped) promotes it.
 */
export const ITEMS_PER_BATCH = 16;

/**
 * Lists a resource page by page (`limit` and `continue`), so that at most one page of raw
 * objects is held at a time, and yields each page's items a few at a time (ITEMS_PER_BATCH):
 * the caller folds each batch into its state before the next one is parsed.
 * @throws GoneError when a continue token has expired (the caller lists again from scratch),
 *   KubeApiError for other failures, including an answer that is not JSON.
 */
export async function* listPages(client: KubeHttpClient, request: PagedListRequest, signal: AbortSignal): AsyncGenerator<ListPage> {
  let token: string | undefined;
  do {
    const text = await client.text(
      'GET',
      request.path,
      { limit: request.pageSize, continue: token, fieldSelector: request.fieldSelector },
      undefined,
      undefined,
      { call: 'list', object: request.what },
      signal,
    );
    const notJson = (err: unknown): KubeApiError => new KubeApiError('list', request.what, new Error(`the answer is not JSON: ${String(err)}`));
    let body;
    try {
      body = splitListBody(text);
    } catch (err) {
      throw notJson(err);
    }
    if (body.items === undefined) throw new KubeApiError('list', request.what, new Error('the answer has no items'));
    const metadata = body.members['metadata'] as { resourceVersion?: unknown; continue?: unknown } | undefined;
    const resourceVersion = typeof metadata === 'object' && metadata !== null ? metadata.resourceVersion : undefined;
    if (typeof resourceVersion !== 'string' || resourceVersion === '') {
      throw new KubeApiError('list', request.what, new Error('the answer has no resourceVersion'));
    }
    const next = typeof metadata === 'object' && metadata !== null ? metadata.continue : undefined;
    token = typeof next === 'string' && next !== '' ? next : undefined;
    const texts = body.items;
    for (let start = 0; start < texts.length || (start === 0 && texts.length === 0); start += ITEMS_PER_BATCH) {
      const items: unknown[] = [];
      for (const item of texts.slice(start, start + ITEMS_PER_BATCH)) {
        try {
          items.push(JSON.parse(item));
        } catch (err) {
          throw notJson(err);
        }
      }
      yield { items, resourceVersion };
    }
  } while (token !== undefined);
}
