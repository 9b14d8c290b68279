import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BuildInfo } from '../build-info.js';

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

  readonly buildInfo = new Gauge({ name: 'flannel_win_build_info', help: 'Always 1; the labels say which build runs', labelNames: ['version', 'commit', 'node'], registers: [this.registry] });
  // Lease
  readonly leaseExpiry = new Gauge({
    name: 'flannel_win_lease_expiry_timestamp_seconds',
    help: 'When the own subnet lease expires unless renewed, as a Unix time, by subnet (absent for a lease without expiry: kube and local stores)',
    labelNames: ['subnet'],
    registers: [this.registry],
  });
  readonly leaseRenewals = new Counter({ name: 'flannel_win_lease_renewals_total', help: 'Successful renewals of the own subnet lease', registers: [this.registry] });
  readonly leaseRenewalFailures = new Counter({ name: 'flannel_win_lease_renewal_failures_total', help: 'Failed attempts to renew the own subnet lease (each is retried)', registers: [this.registry] });
  // Resync and drift
  readonly resyncs = new Counter({ name: 'flannel_win_resyncs_total', help: 'Listings of the host compared with the desired state, by controller, resource kind and result', labelNames: ['controller', 'kind', 'result'], registers: [this.registry] });
  readonly driftRepaired = new Counter({
    name: 'flannel_win_drift_repaired_total',
    help: 'Keys a resync found different on the host from the desired state and queued for repair, by controller and resource kind',
    labelNames: ['controller', 'kind'],
    registers: [this.registry],
  });
  // The lease store
  readonly watchRestarts = new Counter({ name: 'flannel_win_watch_restarts_total', help: 'Lease watch streams that failed and were started again, by store (etcd, kube, local)', labelNames: ['store'], registers: [this.registry] });
  readonly relists = new Counter({ name: 'flannel_win_relists_total', help: 'Full lease listings after the first one (a watch that could not resume), by store', labelNames: ['store'], registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'flannel_win_store_errors_total', help: 'Failed calls to the lease store, by store and operation (watch, renew)', labelNames: ['store', 'operation'], registers: [this.registry] });
  // HNS (the instrumented client in src/hns/instrumented-hns-client.ts)
  readonly hnsCalls = new Counter({ name: 'flannel_win_hns_calls_total', help: 'HNS calls, by operation and result', labelNames: ['operation', 'result'], registers: [this.registry] });
  readonly hnsCallSeconds = new Histogram({
    name: 'flannel_win_hns_call_duration_seconds',
    help: 'Duration of one HNS call, by operation',
    labelNames: ['operation'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly hnsErrors = new Counter({ name: 'flannel_win_hns_errors_total', help: 'Failed HNS calls, by operation and HRESULT (0x…)', labelNames: ['operation', 'hresult'], registers: [this.registry] });
  constructor(options: { processMetrics?: boolean; build?: BuildInfo } = {}) {
    // prom-client samples event-loop lag with a timer every 10 ms by default, ~9 ms of CPU a
    // second at idle on a busy two-core node; every 100 ms it still catches a stall that long
    // and costs a tenth of the wakeups. The other process metrics are read only on scrape.
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
      // Gauges named like counters break Prometheus conventions (rate() on them is nonsense);
      // prom-client also exports each of them without the suffix, by type, which stays.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
    if (options.build) this.buildInfo.set({ version: options.build.version, commit: options.build.commit, node: options.build.node }, 1);
  }
}
