import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The daemon's Prometheus metrics. One registry per daemon (passed in, never the global one),
 * so tests and the benchmark can run several daemons in one process. Dataplane series carry
 * the controller ("peers", later "policy") and the resource kind they belong to.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly leaseEvents = new Counter({ name: 'flannel_win_lease_events_total', help: 'Peer lease changes seen, by type', labelNames: ['type'], registers: [this.registry] });
  readonly applies = new Counter({ name: 'flannel_win_dataplane_applies_total', help: 'Dataplane apply calls, by controller, resource kind and result', labelNames: ['controller', 'kind', 'result'], registers: [this.registry] });
  readonly changes = new Counter({ name: 'flannel_win_dataplane_changes_total', help: 'Dataplane changes applied, by controller, resource kind and op', labelNames: ['controller', 'kind', 'op'], registers: [this.registry] });
  readonly applySeconds = new Histogram({
    name: 'flannel_win_dataplane_apply_seconds',
    help: 'Duration of one dataplane apply call (one HNS Modify or route call batch)',
    labelNames: ['controller', 'kind'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly peers = new Gauge({ name: 'flannel_win_peers', help: 'Peer leases known', registers: [this.registry] });
  readonly unusablePeers = new Gauge({ name: 'flannel_win_unusable_peers', help: 'Peer leases skipped because the backend cannot use them (see the warning log)', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'flannel_win_reconcile_queue_depth', help: 'Keys waiting to be reconciled, by controller and resource kind', labelNames: ['controller', 'kind'], registers: [this.registry] });
  readonly controllerConverged = new Gauge({ name: 'flannel_win_controller_converged', help: '1 once the controller applied its first complete desired state', labelNames: ['controller'], registers: [this.registry] });
  readonly networkPresent = new Gauge({ name: 'flannel_win_network_present', help: '1 while the HNS network exists as set up; 0 while it is lost and being recreated', registers: [this.registry] });
  readonly networkRepairs = new Counter({
    name: 'flannel_win_network_repairs_total',
    help: 'Repairs of the HNS network and the objects set up with it, by what was done (recreated: the whole network; objects: a missing part such as the HostRoute policy or the host endpoint)',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly policyCompileSeconds = new Histogram({
    name: 'flannel_win_policy_compile_seconds',
    help: 'Time to compile the ACLs of the local pods one cluster event (or the first snapshot) affects',
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly policyEndpointWrites = new Counter({ name: 'flannel_win_policy_endpoint_writes_total', help: 'HNS endpoint writes (HcnModifyEndpoint) made to put ACLs on local pod endpoints', registers: [this.registry] });
  readonly policyLocalEndpoints = new Gauge({ name: 'flannel_win_policy_local_endpoints', help: 'Local pod endpoints NetworkPolicy is enforced on', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'flannel_win_ready', help: '1 while /readyz answers 200: subnet.env written, the network present, every controller converged once', registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    // prom-client samples event-loop lag with a timer every 10 ms by default, ~9 ms of CPU a
    // second at idle on a busy two-core node; every 100 ms it still catches a stall that long
    // and costs a tenth of the wakeups. The other process metrics are read only on scrape.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }
}
