import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniConfigWrite, planSubnetEnv } from '../../src/cli/plan-node-files.js';
import { fileChangeFor } from '../../src/cni/file-if-changed.js';

const TEXT = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';

async function file(text?: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'flannel-win-plan-files-')), 'subnet.env');
  if (text !== undefined) await writeFile(path, text);
  return path;
}

test('subnet.env: nothing when identical, every key on a create, only the changed keys on a replace', async (t) => {
  t.is(await planSubnetEnv(await file(TEXT), TEXT), undefined);
  const created = await planSubnetEnv(await file(), TEXT);
  t.deepEqual(created?.op, 'create');
  t.deepEqual(created?.fields, ['FLANNEL_NETWORK: 10.244.0.0/16', 'FLANNEL_SUBNET: 10.244.5.1/24', 'FLANNEL_MTU: 1450', 'FLANNEL_IPMASQ: false']);
  const old = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\nFLANNEL_IPV6_SUBNET=fd00::1/64\n';
  const path = await file(old);
  const replaced = await planSubnetEnv(path, TEXT);
  t.deepEqual(replaced, { kind: 'file', key: path, op: 'replace', fields: ['FLANNEL_MTU: 1400 -> 1450', 'FLANNEL_IPV6_SUBNET: fd00::1/64 -> (none)'] });
  t.is(await readFile(path, 'utf8'), old, 'planning does not write');
});

test('subnet.env with the same values in other bytes is a replace that says so', async (t) => {
  const crlf = TEXT.replaceAll('\n', '\r\n');
  const planned = await planSubnetEnv(await file(crlf), TEXT);
  t.is(planned?.op, 'replace');
  t.deepEqual(planned?.fields, ["same values, other formatting: rewritten in flannel's layout"]);
});

test('the CNI config: the leaves that differ, or the whole file when it is not JSON', async (t) => {
  const wanted = `${JSON.stringify({ name: 'flannel.4096', plugins: [{ delegate: { ipMasq: true } }] }, null, 2)}\n`;
  const path = await file(`${JSON.stringify({ name: 'flannel.4096', plugins: [{ delegate: { ipMasq: false } }] })}\n`);
  const change = await fileChangeFor(path, wanted);
  t.deepEqual(cniConfigWrite(path, wanted, change!).fields, ['plugins.0.delegate.ipMasq: false -> true']);
  const reformatted = await file(`${JSON.stringify({ name: 'flannel.4096', plugins: [{ delegate: { ipMasq: true } }] })}\n`);
  t.deepEqual(cniConfigWrite(reformatted, wanted, (await fileChangeFor(reformatted, wanted))!).fields, ['same values, other formatting: rewritten']);
  const broken = await file('{ not json');
  t.deepEqual(cniConfigWrite(broken, wanted, (await fileChangeFor(broken, wanted))!).fields, ['the file is not JSON: rewritten whole']);
  t.is(await fileChangeFor(path, await readFile(path, 'utf8')), undefined);
});
