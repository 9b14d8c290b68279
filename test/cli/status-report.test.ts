import test from 'ava';
import { formatDuration, renderStatus } from '../../src/cli/status-report.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');

test('the summary shows why the node is not ready, each peer state with its error or reason, policy and the source VIP', (t) => {
  const text = renderStatus(
    {
      version: { version: '0.1.0', commit: 'abc1234def56', buildDate: '2026-11-29T10:00:00.000Z', node: '24.21.0' },
      ready: false,
      notReady: ['the HNS network is missing and being recreated'],
      startedAt: '2026-11-29T11:00:00.000Z',
      uptimeSeconds: 3600,
      subnetManager: 'etcd',
      lease: '10.244.7.0/24 (192.168.1.10)',
      leaseExpiresAt: '2026-11-30T11:00:00.000Z',
      backend: { network: 'flannel.4096', vni: 4096 },
      network: { present: false, recreations: 1, repairs: 0, lastError: 'HNS said no' },
      store: { kind: 'etcd', watch: 'restarting', lastEventAt: '2026-11-29T11:59:30.000Z', restarts: 2, lastError: 'etcd unreachable' },
      lastResyncAt: '2026-11-29T11:59:50.000Z',
      driftRepaired: 3,
      cni: { sourceVip: { address: '10.244.7.2', file: 'C:\\sourcevip\\sourceVip.json' } },
      controllers: {
        peers: {},
        policy: {
          kind: 'endpoint-acl', localEndpoints: 4, policies: 2, endpointsFailing: 1,
          podsWithoutEndpoint: { count: 1, first: ['default/web-0'] },
          reconciler: { lastError: 'replace pod-a: HNS 0x803b000d' },
          problems: { 'default/deny': ['spec.ingress[0].ports[0].protocol: "ICMP"'] },
        },
      },
      peers: 4,
      peerList: {
        peers: [
          { subnet: '10.244.1.0/24', node: 'lin-1', publicIp: '192.168.1.21', state: 'programmed' },
          { subnet: '10.244.2.0/24', publicIp: '192.168.1.22', state: 'failing', lastError: 'modifyNetwork: invalid policy (0x803b000d)' },
          { subnet: '10.244.3.0/24', publicIp: '192.168.1.23', state: 'unusable', reason: 'VtepMAC "x" is not a MAC address' },
          { subnet: '10.244.10.0/24', publicIp: '192.168.1.30', state: 'pending' },
        ],
        truncated: true,
      },
    },
    NOW,
  );
  t.regex(text, /^Version: +0\.1\.0 \(commit abc1234def56, built 2026-11-29T10:00:00\.000Z, node 24\.21\.0\)$/m);
  t.regex(text, /^Uptime: +1h 0m /m);
  t.regex(text, /^Ready: +no: the HNS network is missing and being recreated$/m);
  t.regex(text, /^Lease: +10\.244\.7\.0\/24 \(192\.168\.1\.10\) via etcd, expires 2026-11-30T11:00:00\.000Z \(in 23h 0m\)$/m);
  t.regex(text, /present=false recreations=1 repairs=0 lastError=HNS said no/);
  t.regex(text, /^Store: +etcd watch restarting, last event \S+ \(30s ago\), restarts 2, last error: etcd unreachable$/m);
  t.regex(text, /^Resync: +last \S+ \(10s ago\), drift repaired 3$/m);
  t.regex(text, /^Source VIP: +10\.244\.7\.2 /m);
  t.regex(text, /^Policy: +kind=endpoint-acl localEndpoints=4 policies=2 endpointsFailing=1$/m);
  t.regex(text, /^ +pods without an HNS endpoint yet: 1 \["default\/web-0"\]$/m);
  t.regex(text, /^ +last ACL write error: replace pod-a: HNS 0x803b000d$/m);
  t.regex(text, /^ +problems: default\/deny: \["spec\.ingress\[0\]\.ports\[0\]\.protocol: \\"ICMP\\""\]$/m);
  t.regex(text, /^ +1 programmed, 1 failing, 1 unusable, 1 pending$/m);
  t.regex(text, /^ +10\.244\.1\.0\/24 +programmed +lin-1 192\.168\.1\.21$/m);
  t.regex(text, /^ +10\.244\.2\.0\/24 +failing +192\.168\.1\.22: modifyNetwork: invalid policy \(0x803b000d\)$/m);
  t.regex(text, /^ +10\.244\.3\.0\/24 +unusable +192\.168\.1\.23: VtepMAC "x" is not a MAC address$/m);
  t.regex(text, /more peers not listed/);
});

test('a daemon without a policy controller, a lease that never expires, and missing fields read as such', (t) => {
  const text = renderStatus({ ready: true, subnetManager: 'kube', lease: '10.244.1.0/24', peerList: { peers: [], truncated: false } }, NOW);
  t.regex(text, /^Policy: +not enforced/m);
  t.regex(text, /expires never/);
  t.regex(text, /^Version: +-$/m);
  t.regex(text, /^ +\(none\)$/m);
  t.is(formatDuration(90_061), '1d 1h');
  t.is(formatDuration(59), '59s');
});
