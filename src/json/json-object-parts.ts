/**
 * Reads a JSON object one top-level member at a time, the elements of one named array member
 * as their own JSON texts, so that a large answer (a Kubernetes list page, an HNS network with
 * 20,000 routes) is never parsed into one object graph in one step: the caller parses the pieces
 * a few at a time, and can give the event loop back in between.
 *
 * Only the structure is scanned here (strings, nesting); every piece is still checked by
 * JSON.parse when it is read, so malformed input is never accepted, only reported later.
 * @module
 */

/** The text is not a JSON object of the expected shape; `offset` is where reading stopped. */
export class JsonObjectSyntaxError extends SyntaxError {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonObjectSyntaxError';
    this.offset = offset;
  }
}

/** One piece of the object, in text order. */
export type JsonObjectPart =
  /** A member other than the split array (or the split member when it is not an array), parsed. */
  | { readonly kind: 'member'; readonly name: string; readonly value: unknown }
  /** The split array member begins (it may have no elements). */
  | { readonly kind: 'array'; readonly name: string }
  /** One element of the split array, as its JSON text (not yet checked). */
  | { readonly kind: 'item'; readonly text: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * The parts of the JSON object `text`, in order: every member parsed, except `arrayMember`,
 * whose elements come one at a time as texts. Lazy: each part is scanned when asked for.
 * @throws JsonObjectSyntaxError when the text is not one JSON object.
 */
export function* jsonObjectParts(text: string, arrayMember: string): Generator<JsonObjectPart, void, undefined> {
  let i = skipSpace(text, 0);
  expect(text, i, OPEN_BRACE, 'expected "{"');
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return finish(text, i + 1);
  for (;;) {
    expect(text, i, QUOTE, 'expected a member name');
    const nameEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipSpace(text, nameEnd);
    expect(text, i, COLON, 'expected ":"');
    i = skipSpace(text, i + 1);
    if (name === arrayMember && text.charCodeAt(i) === OPEN_BRACKET) {
      yield { kind: 'array', name };
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === CLOSE_BRACKET) i++;
      else {
        for (;;) {
          const end = valueEnd(text, i);
          yield { kind: 'item', text: text.slice(i, end) };
          i = skipSpace(text, end);
          const c = text.charCodeAt(i++);
          if (c === CLOSE_BRACKET) break;
          if (c !== COMMA) throw new JsonObjectSyntaxError('expected "," or "]" between items', i - 1);
          i = skipSpace(text, i);
        }
      }
    } else {
      const end = valueEnd(text, i);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, end));
      } catch (err) {
        throw new JsonObjectSyntaxError(`member ${JSON.stringify(name.slice(0, 64))} is not JSON (${(err as Error).message})`, i);
      }
      yield { kind: 'member', name, value };
      i = end;
    }
    i = skipSpace(text, i);
    const c = text.charCodeAt(i++);
    if (c === CLOSE_BRACE) return finish(text, i);
    if (c !== COMMA) throw new JsonObjectSyntaxError('expected "," or "}" between members', i - 1);
    i = skipSpace(text, i);
  }
}

function finish(text: string, i: number): void {
  const end = skipSpace(text, i);
  if (end !== text.length) throw new JsonObjectSyntaxError('unexpected text after the object', end);
}

function expect(text: string, i: number, code: number, message: string): void {
  if (text.charCodeAt(i) !== code) throw new JsonObjectSyntaxError(message, i);
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
  throw new JsonObjectSyntaxError('unterminated string', i);
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
    throw new JsonObjectSyntaxError('unterminated object or array', i);
  }
  // A number, true, false or null: up to the next delimiter (JSON.parse checks it).
  let j = i;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
  }
  if (j === i) throw new JsonObjectSyntaxError('expected a value', i);
  return j;
}
