/**
 * Reads the body of a list answer (`{"kind":…,"metadata":{…},"items":[…]}`) without parsing the
 * whole page into one object graph: the items come back as their own JSON texts, which the
 * caller parses a few at a time. A page of 500 kubelet-sized nodes is ~4 MB of text and ~25 MB
 * once parsed; parsed whole, that graph outlives the young generation and is promoted, and the
 * old space grows by a page before the next full collection. Parsed item by item, each node is
 * dead before it leaves the young generation.
 *
 * Only the structure is scanned here (strings, nesting); every piece is still checked by
 * JSON.parse when it is read, so malformed input is never accepted, only reported later.
 */

/** The top-level members of a list answer, `items` as one JSON text per element. */
export interface ListBody {
  /** Every member except `items`, parsed. */
  readonly members: Readonly<Record<string, unknown>>;
  /** The JSON text of each element of `items`, in order; undefined when there is no array. */
  readonly items: readonly string[] | undefined;
}

/** The body is not a JSON object of the expected shape; `offset` is where reading stopped. */
export class ListBodySyntaxError extends SyntaxError {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'ListBodySyntaxError';
    this.offset = offset;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Splits a list answer into its members and the texts of its items.
 * @throws ListBodySyntaxError when the text is not one JSON object (members are checked by
 *   JSON.parse, items only when the caller parses them).
 */
export function splitListBody(text: string): ListBody {
  const members: Record<string, unknown> = {};
  let items: string[] | undefined;
  let i = skipSpace(text, 0);
  expect(text, i, OPEN_BRACE, 'expected "{"');
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return finish(text, i + 1, members, items);
  for (;;) {
    expect(text, i, QUOTE, 'expected a member name');
    const nameEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipSpace(text, nameEnd);
    expect(text, i, COLON, 'expected ":"');
    i = skipSpace(text, i + 1);
    if (name === 'items' && text.charCodeAt(i) === OPEN_BRACKET) {
      items = [];
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === CLOSE_BRACKET) i++;
      else {
        for (;;) {
          const end = valueEnd(text, i);
          items.push(text.slice(i, end));
          i = skipSpace(text, end);
          const c = text.charCodeAt(i++);
          if (c === CLOSE_BRACKET) break;
          if (c !== COMMA) throw new ListBodySyntaxError('expected "," or "]" between items', i - 1);
          i = skipSpace(text, i);
        }
      }
    } else {
      const end = valueEnd(text, i);
      try {
        members[name] = JSON.parse(text.slice(i, end));
      } catch (err) {
        throw new ListBodySyntaxError(`member ${JSON.stringify(name.slice(0, 64))} is not JSON (${(err as Error).message})`, i);
      }
      i = end;
    }
    i = skipSpace(text, i);
    const c = text.charCodeAt(i++);
    if (c === CLOSE_BRACE) return finish(text, i, members, items);
    if (c !== COMMA) throw new ListBodySyntaxError('expected "," or "}" between members', i - 1);
    i = skipSpace(text, i);
  }
}

function finish(text: string, i: number, members: Record<string, unknown>, items: string[] | undefined): ListBody {
  const end = skipSpace(text, i);
  if (end !== text.length) throw new ListBodySyntaxError('unexpected text after the object', end);
  return { members, items };
}

function expect(text: string, i: number, code: number, message: string): void {
  if (text.charCodeAt(i) !== code) throw new ListBodySyntaxError(message, i);
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    // JSON's whitespace: space, tab, line feed, carriage return.
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/** The index after the string that starts at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw new ListBodySyntaxError('unterminated string', i);
}

/** The index after the value that starts at `i`: a string, an object or array, or a literal. */
function valueEnd(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return stringEnd(text, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) j = stringEnd(text, j) - 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new ListBodySyntaxError('unterminated object or array', i);
  }
  // A number, true, false or null: up to the next delimiter (JSON.parse checks it).
  let j = i;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
  }
  if (j === i) throw new ListBodySyntaxError('expected a value', i);
  return j;
}
