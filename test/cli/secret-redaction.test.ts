import test from 'ava';
import { redactSecrets } from '../../src/cli/secret-redaction.js';

test('known secrets, PEM private keys, bearer tokens and token/password fields are redacted', (t) => {
  const text = [
    'etcd password s3cr3t-Pw and again s3cr3t-Pw',
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkey\n-----END EC PRIVATE KEY-----',
    'Authorization: Bearer eyJhbGciOi.J9.sig',
    '{"token":"abc123","user":"ops"}',
    'password=hunter22 next',
    '  client-key-data: LS0tLS1CRUdJTg==',
    'a certificate stays: -----BEGIN CERTIFICATE-----',
  ].join('\n');
  const out = redactSecrets(text, ['s3cr3t-Pw']);
  for (const secret of ['s3cr3t-Pw', 'MHcCAQEEIBkey', 'eyJhbGciOi', 'abc123', 'hunter22', 'LS0tLS1CRUdJTg']) t.false(out.includes(secret), `${secret} leaked:\n${out}`);
  t.regex(out, /Authorization: Bearer <redacted>/);
  t.regex(out, /"token":"<redacted>","user":"ops"/);
  t.regex(out, /password=<redacted> next/);
  t.regex(out, /-----BEGIN CERTIFICATE-----/);
  t.regex(out, /^<redacted>$/m, 'the key block is replaced whole');
});
