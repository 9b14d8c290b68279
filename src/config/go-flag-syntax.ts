import { UsageError } from './usage-error.js';

/** What the tokenizer needs to know about a flag: whether it consumes a value. */
export interface FlagArity {
  /** Canonical flag name (what `lookup` returned for the written name). */
  readonly name: string;
  readonly isBool: boolean;
}

export type FlagLookup = (writtenName: string) => FlagArity | undefined;

/** One flag occurrence, already split by Go's rules. Bools carry their parsed value. */
export type GoFlagToken =
  | { readonly name: string; readonly kind: 'bool'; readonly value: boolean; readonly written: string }
  | { readonly name: string; readonly kind: 'value'; readonly value: string; readonly written: string };

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool: the only spellings Go's flag package accepts for a boolean. */
export function parseGoBool(text: string): boolean | undefined {
  if (GO_TRUE.has(text)) return true;
  if (GO_FALSE.has(text)) return false;
  return undefined;
}

/**
 * Splits argv the way Go's `flag` package does, so flanneld command lines keep working:
 * `-name` and `--name` are the same; `-name=value` or `-name value` for non-bools; a bool takes
 * only `-name` or `-name=<bool>`, so `-ip-masq false` sets ip-masq and leaves "false" as a
 * positional argument. `--` ends the flags; so does the first argument not starting with '-'.
 */
export function tokenizeGoFlags(argv: readonly string[], lookup: FlagLookup): { tokens: GoFlagToken[]; positionals: string[] } {
  const tokens: GoFlagToken[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    if (arg.length < 2 || !arg.startsWith('-')) break;
    if (arg === '--') {
      i++;
      break;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body.length === 0 || body.startsWith('-') || body.startsWith('=')) {
      throw new UsageError(`bad flag syntax: ${arg}`, { argument: arg });
    }
    const eq = body.indexOf('=');
    const writtenName = eq < 0 ? body : body.slice(0, eq);
    const inlineValue = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = lookup(writtenName);
    if (!spec) {
      throw new UsageError(`unknown flag --${writtenName} (flag provided but not defined: ${arg}); run with --help for the list`, {
        flag: writtenName,
        argument: arg,
      });
    }
    i++;
    if (spec.isBool) {
      let value = true;
      if (inlineValue !== undefined) {
        const parsed = parseGoBool(inlineValue);
        if (parsed === undefined) {
          throw new UsageError(`invalid boolean value "${inlineValue}" for --${writtenName}: use --${writtenName}=true or --${writtenName}=false`, {
            flag: spec.name,
            value: inlineValue,
          });
        }
        value = parsed;
      }
      tokens.push({ name: spec.name, kind: 'bool', value, written: writtenName });
      continue;
    }
    let value = inlineValue;
    if (value === undefined) {
      // Go takes the next argument whatever it looks like, even "-x".
      if (i >= argv.length) throw new UsageError(`flag needs an argument: --${writtenName}`, { flag: spec.name });
      value = argv[i] as string;
      i++;
    }
    tokens.push({ name: spec.name, kind: 'value', value, written: writtenName });
  }
  return { tokens, positionals: argv.slice(i) };
}

/**
 * strconv.ParseInt(text, 0, 64) as Go's flag.IntVar uses it: optional sign, then decimal,
 * `0x` hex, `0b` binary, `0o` or a leading `0` for octal. Underscores (which Go allows only
 * between digits after a base prefix) are rejected, as are values beyond JS's safe integers.
 */
export function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2] as string;
  let value: number;
  if (/^0[xX]/.test(body)) value = Number.parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) value = Number.parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) value = Number.parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) value = Number.parseInt(body.slice(1), 8);
  else value = Number.parseInt(body, 10);
  const result = sign * value;
  return Number.isSafeInteger(result) ? result : undefined;
}
