import test from 'ava';
import fc from 'fast-check';
import { parseGoBool, parseGoInt, tokenizeGoFlags } from '../../src/config/go-flag-syntax.js';
import { UsageError } from '../../src/config/usage-error.js';

const lookup = (name: string) => (name === 'b' ? { name: 'b', isBool: true } : name === 's' ? { name: 's', isBool: false } : undefined);

test('Go bool spellings', (t) => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.true(parseGoBool(s), s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) t.false(parseGoBool(s), s);
  for (const s of ['yes', 'on', '', 'tRUE']) t.is(parseGoBool(s), undefined, s);
});

test('Go integer syntax', (t) => {
  t.is(parseGoInt('42'), 42);
  t.is(parseGoInt('-42'), -42);
  t.is(parseGoInt('0'), 0);
  t.is(parseGoInt('0x10'), 16);
  t.is(parseGoInt('0b101'), 5);
  t.is(parseGoInt('0o17'), 15);
  t.is(parseGoInt('017'), 15);
  for (const s of ['', '08', '1.5', '1e3', ' 1', 'abc', '0x', '99999999999999999999']) t.is(parseGoInt(s), undefined, s);
});

test('every safe decimal integer round-trips', (t) => {
  fc.assert(fc.property(fc.maxSafeInteger(), (n) => parseGoInt(String(n)) === n));
  t.pass();
});

test('tokenizer: -- ends flags, value flags take the next argument even if it starts with -', (t) => {
  const r = tokenizeGoFlags(['-s', '-x', '--b', '--', '-b'], lookup);
  t.deepEqual(r.tokens.map((x) => [x.name, x.value]), [['s', '-x'], ['b', true]]);
  t.deepEqual(r.positionals, ['-b']);
});

test('tokenizer: a lone "-" is a positional and an empty value is allowed', (t) => {
  const r = tokenizeGoFlags(['-s=', '-', '-b'], lookup);
  t.deepEqual(r.tokens.map((x) => [x.name, x.value]), [['s', '']]);
  t.deepEqual(r.positionals, ['-', '-b']);
});

test('tokenizer: unknown flag', (t) => {
  t.throws(() => tokenizeGoFlags(['--nope'], lookup), { instanceOf: UsageError, message: /unknown flag --nope/ });
});
