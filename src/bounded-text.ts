/**
 * Values from the shared store (lease values, annotations, node names) end up in log lines and
 * error messages. A peer controls their size, so they are bounded here before they get there: a
 * 1 MiB junk value must cost a log line of a few hundred bytes, not a megabyte.
 * @module
 */

/** How many characters of a foreign value a message quotes. */
export const QUOTED_VALUE_MAX = 120;

/** Upper bound for a whole message or reason built from foreign values. */
export const MESSAGE_MAX = 1024;

/**
 * `text` itself when it fits in `max` characters, else its first `max` characters followed by
 * how much was left out, so the reader knows the value was longer.
 */
export function boundText(text: string, max: number = MESSAGE_MAX): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

/**
 * A value quoted for a message: strings as JSON string literals, anything else as its JSON text,
 * cut to `max` characters of content.
 */
export function quoteValue(value: unknown, max: number = QUOTED_VALUE_MAX): string {
  if (typeof value === 'string') {
    return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}…(${value.length - max} more characters)`;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  return boundText(text ?? String(value), max);
}
