/**
 * The daemon runs a list of controllers, each a desired-state source with its own reconciler
 * (peers → remote-subnet routes or host routes; later pods and policies → endpoint ACLs).
 * Readiness, `/status`, the metrics and shutdown treat every controller the same way, so adding
 * one is: write a `ControllerFactory`, append it to the daemon's list.
 * @module
 */
import type { BackoffPolicy } from '../async/backoff.js';
import type { BackendNetwork, NetworkRepair } from '../backends/backend.js';
import type { NetConfig } from '../config/net-config.js';
import type { HnsClient } from '../hns/client.js';
import type { Lease, SubnetManager } from '../lease/types.js';
import type { FlowAnswer, FlowQuestion } from '../policy/flow-question.js';
import type { Logger } from '../log.js';
import type { TokenBucket } from '../reconcile/token-bucket.js';
import type { RouteTable } from '../routes/route-table.js';
import type { DaemonMetrics } from './metrics.js';

export interface Controller {
  /** Used in logs, `/status` and the `controller` metric label ("peers", "policy"). */
  readonly name: string;
  /** Does the controller's work until `signal` aborts; never rejects for a runtime failure. */
  run(signal: AbortSignal): Promise<void>;
  /** True once the first complete desired state has been applied (it stays true). */
  convergedOnce(): boolean;
  /**
   * Lists the host again and repairs drift. The daemon calls it at every resync interval
   * (after checking the network) and after the network was recreated or repaired.
   */
  resync(signal: AbortSignal): Promise<void>;
  /**
   * The network was repaired. Called before `resync`; a controller whose desired specs depend
   * on the network (host-gw routes carry its interface index) recomputes them here.
   */
  networkRepaired?(repair: NetworkRepair): void;
  /**
   * Retries at once whatever waits out a back-off after a failure: the daemon calls it after a
   * network repair (and the resync that follows), when the cause of those failures is gone.
   */
  retryNow?(): void;
  /**
   * Resolves once nothing is queued or being applied; keys waiting out a back-off after a
   * failure do not count (they are reported in `status`). Readiness returns after a network
   * repair once every controller has settled.
   */
  settled(signal: AbortSignal): Promise<void>;
  /** Facts for `/status`. Built on request; may cost work proportional to what it lists. */
  status(): Record<string, unknown>;
  /**
   * How many peer leases the controller holds, cheaply (no `status` built): the heap watch names
   * it in its warning. Only the peers controller has it.
   */
  peerCount?(): number;
  /**
   * The controller that holds the cluster's NetworkPolicy view answers `/policy/flow` with the
   * Kubernetes-semantics verdict for one connection (see src/daemon/policy-flow-route.ts).
   */
  explainFlow?(question: FlowQuestion): FlowAnswer;
  /** Stops taking new work; resolves once writes in flight have finished. */
  drain(): Promise<void>;
}

/** What a controller is built from, once the backend has registered the network. */
export interface ControllerContext {
  network: BackendNetwork<unknown, unknown>;
  ownLease(): Lease;
  /** net-conf.json as read at start-up (peer leases are checked against its Network). */
  netConfig: NetConfig;
  subnetManager: SubnetManager;
  hns: HnsClient;
  routes: RouteTable;
  log: Logger;
  metrics: DaemonMetrics;
  /** The one HNS write rate limit every controller's reconciler takes its tokens from. */
  hnsWriteLimit: TokenBucket;
  /** Reconciler concurrency (tests and benchmarks tune it). */
  concurrency?: number | undefined;
  /** Per-key back-off after a failed change (tests tune it). */
  backoff?: Partial<BackoffPolicy> | undefined;
  /**
   * Call with a failed HNS call's error: one that says the network or an endpoint is gone makes
   * the daemon check (and if needed recreate) the network now instead of at the next resync.
   */
  reportHnsError(err: unknown): void;
  /** Call once when `convergedOnce` turns true, so readiness is judged again at once. */
  onConverged(): void;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;

/**
 * Work that needs the node fully set up (network, subnet.env, every controller converged once),
 * such as writing the CNI config. Runs when the daemon first gets there and again after the
 * network was recreated; readiness waits for its first success.
 */
export interface ConvergedTask {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}
