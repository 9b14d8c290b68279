import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../manifests/patch-kube-flannel-cfg.sh', import.meta.url));

/**
 * Runs the patch script against a kubectl stand-in that serves `netConf` as the ConfigMap's
 * net-conf.json and records the patch call; the script's jq logic runs for real.
 */
async function run(netConf: string): Promise<{ status: number | null; stdout: string; stderr: string; patchArgs: string[] | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-patch-'));
  const kubectl = join(dir, 'kubectl');
  await writeFile(kubectl, '#!/usr/bin/env bash\nif [[ " $* " == *" get "* ]]; then cat "$FAKE_NETCONF"; else printf \'%s\\0\' "$@" > "$FAKE_LOG"; fi\n');
  await chmod(kubectl, 0o755);
  await writeFile(join(dir, 'net-conf.json'), netConf);
  const result = spawnSync('bash', [SCRIPT], {
    env: { PATH: `${dir}:${process.env.PATH}`, FAKE_NETCONF: join(dir, 'net-conf.json'), FAKE_LOG: join(dir, 'patch.log') },
    encoding: 'utf8',
  });
  const logged = await stat(join(dir, 'patch.log')).then(() => readFile(join(dir, 'patch.log'), 'utf8'), () => undefined);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, patchArgs: logged?.split('\0').filter((s) => s !== '') };
}

test('vxlan: a merge patch of net-conf.json alone that changes only VNI and Port', async (t) => {
  const original = { Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan', DirectRouting: true } };
  const r = await run(JSON.stringify(original));
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.patchArgs?.slice(0, 7), ['-n', 'kube-flannel', 'patch', 'configmap', 'kube-flannel-cfg', '--type', 'merge']);
  const patch = JSON.parse(r.patchArgs![8]!) as { data: Record<string, string> };
  t.deepEqual(Object.keys(patch), ['data']);
  t.deepEqual(Object.keys(patch.data), ['net-conf.json'], 'cni-conf.json and every other key stay as they are');
  t.deepEqual(JSON.parse(patch.data['net-conf.json']!), { ...original, Backend: { ...original.Backend, VNI: 4096, Port: 4789 } });
});

test('keys are matched case-insensitively, as flannel reads them', async (t) => {
  const r = await run('{"network":"10.244.0.0/16","backend":{"type":"VXLAN","vni":1,"port":8472}}');
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse((JSON.parse(r.patchArgs![8]!) as { data: Record<string, string> }).data['net-conf.json']!), { network: '10.244.0.0/16', backend: { type: 'VXLAN', vni: 4096, port: 4789 } });
});

test('host-gw and an already-patched vxlan need no patch, and none is sent', async (t) => {
  const hostGw = await run('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}');
  t.is(hostGw.status, 0);
  t.regex(hostGw.stdout, /nothing to change: Backend.Type is "host-gw"/);
  t.is(hostGw.patchArgs, undefined);
  const done = await run('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}');
  t.is(done.status, 0);
  t.regex(done.stdout, /already uses VNI 4096 and port 4789/);
  t.is(done.patchArgs, undefined);
});

test('a net-conf.json that is not JSON is an error and nothing is patched', async (t) => {
  const r = await run('{"Network": ');
  t.is(r.status, 1);
  t.regex(r.stderr, /not valid JSON/);
  t.is(r.patchArgs, undefined);
});
