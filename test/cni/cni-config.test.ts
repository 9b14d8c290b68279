import test from 'ava';
import { readFile } from 'node:fs/promises';
import { buildCniConfig, formatCniConfig, type CniConfigInput } from '../../src/cni/cni-config.js';
import { parseIp4Net } from '../../src/net/ip.js';

// Compiled to dist/test/cni/; the golden files stay in the source tree.
const golden = (name: string) => readFile(new URL(`../../../test/cni/golden/${name}`, import.meta.url), 'utf8');

const base: Omit<CniConfigInput, 'backend' | 'networkName'> = {
  clusterCidr: parseIp4Net('10.244.0.0/16'),
  serviceCidr: parseIp4Net('10.96.0.0/12'),
  nodeIp: '192.168.1.10',
  ipMasq: true,
};

test('vxlan: win-overlay delegate matches the golden file byte for byte', async (t) => {
  t.is(formatCniConfig({ ...base, backend: 'vxlan', networkName: 'flannel.4096' }), await golden('vxlan.conflist.json'));
});

test('host-gw: win-bridge delegate matches the golden file byte for byte', async (t) => {
  t.is(formatCniConfig({ ...base, backend: 'host-gw', networkName: 'cbr0' }), await golden('host-gw.conflist.json'));
});

test('--ip-masq reaches the overlay delegate; host-gw has no such switch', (t) => {
  const delegate = (input: CniConfigInput) => ((buildCniConfig(input)['plugins'] as Record<string, unknown>[])[0]!['delegate'] as Record<string, unknown>);
  t.false(delegate({ ...base, ipMasq: false, backend: 'vxlan', networkName: 'flannel.4096' })['ipMasq']);
  t.true(delegate({ ...base, ipMasq: true, backend: 'vxlan', networkName: 'flannel.4096' })['ipMasq']);
  t.false('ipMasq' in delegate({ ...base, backend: 'host-gw', networkName: 'cbr0' }));
});

test('CIDRs are written masked, the network name is the HNS network name, and no ipam is written', (t) => {
  const text = formatCniConfig({ ...base, clusterCidr: parseIp4Net('10.244.7.9/16'), serviceCidr: parseIp4Net('172.20.5.1/16'), backend: 'vxlan', networkName: 'flannel.5000' });
  const conf = JSON.parse(text) as { name: string; plugins: { delegate: Record<string, unknown> }[] };
  t.is(conf.name, 'flannel.5000');
  t.regex(text, /"10\.244\.0\.0\/16"/);
  t.regex(text, /"DestinationPrefix": "172\.20\.0\.0\/16"/);
  // flannel.exe refuses a delegate carrying ipam or name: it adds both itself.
  t.false('ipam' in conf.plugins[0]!.delegate);
  t.false('name' in conf.plugins[0]!.delegate);
});
