import type { Report } from '../run.js';
import { runDaemonScenario } from '../support/daemon-scenario.js';

/** host-gw: one CreateIpForwardEntry2 per peer route (Windows has no batch route API). */
export default function run(report: Report): Promise<void> {
  return runDaemonScenario(report, {
    backend: 'host-gw',
    coldBound: (n) => `<= ${n + 6} (one route each + network, endpoint, attach, forwarding; flannel: ${n} PowerShell processes)`,
    changeBound: '2 (a route cannot change its next hop: delete + add)',
  });
}
