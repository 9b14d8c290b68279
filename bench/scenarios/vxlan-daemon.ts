import type { Report } from '../run.js';
import { runDaemonScenario } from '../support/daemon-scenario.js';

/** vxlan: RemoteSubnetRoute policies batched 100 per HNS Modify request. */
export default function run(report: Report): Promise<void> {
  return runDaemonScenario(report, {
    backend: 'vxlan',
    coldBound: (n) => `<= ${Math.floor(n / 100) + 5} (flannel: ${2 * n})`,
    changeBound: '1 (HNS has no in-place update of a policy: remove + add = 2)',
  });
}
