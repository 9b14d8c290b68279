import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM texts of a throw-away CA and a server certificate for 127.0.0.1 signed by it. */
export interface TestTlsMaterial {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

let cached: Promise<TestTlsMaterial> | undefined;

/**
 * Generates (once per test process) a CA and a 127.0.0.1 server certificate with the openssl
 * CLI, because a real API server serves HTTPS and client-node 2 refuses plain http.
 */
export function testTlsMaterial(): Promise<TestTlsMaterial> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<TestTlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-kube-tls-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=flannel-win test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
    await writeFile(
      file('server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    await run('openssl', [
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext'),
    ]);
    const [caCert, serverCert, serverKey] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caCert: caCert as string, serverCert: serverCert as string, serverKey: serverKey as string };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
