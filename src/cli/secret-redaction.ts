/**
 * What must never leave the node in a support bundle: the etcd password, private key material
 * and bearer tokens. Pure: text in, text out.
 * @module
 */

export const REDACTED = '<redacted>';

/** Flags whose value is a secret itself (a key *file* path is not; its content never goes in). */
export const SECRET_FLAGS: readonly string[] = ['etcd-password'];

const PATTERNS: readonly RegExp[] = [
  // PEM private keys (RSA, EC, PKCS#8, encrypted), whole blocks.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  // Authorization headers and bearer tokens in any text.
  /(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*/gi,
  // token / password / client-key-data fields in JSON or YAML ("token": "x", password=x, token: x).
  /(\b(?:token|password|passwd|client-key-data|client-certificate-data|secret)\b["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi,
];

/**
 * Replaces every known secret value (exact strings, e.g. the etcd password given) and every
 * secret-shaped text (PEM private keys, bearer tokens, token/password fields) with <redacted>.
 */
export function redactSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...knownSecrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) => (typeof prefix === 'string' && match.startsWith(prefix) && !match.startsWith('-----') ? `${prefix}${REDACTED}` : REDACTED));
  }
  return out;
}
