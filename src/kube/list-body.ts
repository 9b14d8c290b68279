/**
 * Reads the body of a list answer (`{"kind":…,"metadata":{…},"items":[…]}`) without parsing the
 * whole page into one object graph: the items come back as their own JSON texts, which the
 * caller parses a few at a time. A page of 500 kubelet-sized nodes is ~4 MB of text and ~25 MB
 * once parsed; parsed whole, that graph outlives the young generation and is promoted, and the
 * old space grows by a page before the next full collection. Parsed item by item, each node is
 * dead before it leaves the young generation.
 */
import { jsonObjectParts, JsonObjectSyntaxError } from '../json/json-object-parts.js';

/** The top-level members of a list answer, `items` as one JSON text per element. */
export interface ListBody {
  /** Every member except `items`, parsed. */
  readonly members: Readonly<Record<string, unknown>>;
  /** The JSON text of each element of `items`, in order; undefined when there is no array. */
  readonly items: readonly string[] | undefined;
}

/** The body is not a JSON object of the expected shape; `offset` is where reading stopped. */
export { JsonObjectSyntaxError as ListBodySyntaxError };

/**
 * Splits a list answer into its members and the texts of its items.
 * @throws ListBodySyntaxError when the text is not one JSON object (members are checked by
 *   JSON.parse, items only when the caller parses them).
 */
export function splitListBody(text: string): ListBody {
  const members: Record<string, unknown> = {};
  let items: string[] | undefined;
  for (const part of jsonObjectParts(text, 'items')) {
    if (part.kind === 'member') members[part.name] = part.value;
    else if (part.kind === 'array') items = [];
    else items!.push(part.text);
  }
  return { members, items };
}
