import type { KubeHttpClient } from './kube-http-client.js';
import { KubeApiError } from './errors.js';

/** One page of a list: raw JSON items, read by the caller's own reader. */
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
 * Lists a resource page by page (`limit` and `continue`), so that at most one page of raw
 * objects is held at a time: the caller folds each page into its state before the next one is
 * requested.
 * @throws GoneError when a continue token has expired (the caller lists again from scratch),
 *   KubeApiError for other failures.
 */
export async function* listPages(client: KubeHttpClient, request: PagedListRequest, signal: AbortSignal): AsyncGenerator<ListPage> {
  let token: string | undefined;
  do {
    const answer = await client.json(
      'GET',
      request.path,
      { limit: request.pageSize, continue: token, fieldSelector: request.fieldSelector },
      undefined,
      undefined,
      { call: 'list', object: request.what },
      signal,
    );
    const page = answer as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } } | null;
    if (typeof page !== 'object' || page === null || !Array.isArray(page.items)) {
      throw new KubeApiError('list', request.what, new Error('the answer has no items'));
    }
    const resourceVersion = page.metadata?.resourceVersion;
    if (typeof resourceVersion !== 'string' || resourceVersion === '') {
      throw new KubeApiError('list', request.what, new Error('the answer has no resourceVersion'));
    }
    const next = page.metadata?.continue;
    token = typeof next === 'string' && next !== '' ? next : undefined;
    yield { items: page.items as unknown[], resourceVersion };
  } while (token !== undefined);
}
