/**
 * The NetworkPolicy controller: cluster events (pods, namespaces, policies) → the compiled ACL
 * lists of the node's own pods → the `endpoint-acl` reconciler, which writes an endpoint only when
 * its list really changed. This module only wires the parts: compilation is PolicyState, the pod ↔
 * endpoint join is EndpointAclPlan, the writes are EndpointAclKind (all in src/policy).
 * @module
 */
import { sleep } from '../async/abortable-sleep.js';
import { Backoff, type BackoffPolicy } from '../async/backoff.js';
import { retryWithBackoff } from '../async/retry.js';
import { describeError, FlannelWinError } from '../errors.js';
import type { HostComputeEndpoint } from '../hns/types.js';
import type { ClusterEvent } from '../kube/cluster-watch.js';
import { compileIntoPlan, loadClusterSnapshot, localPodOf } from '../policy/cluster-snapshot.js';
import { answerFlowQuestion } from '../policy/flow-question.js';
import { EndpointAclKind } from '../policy/endpoint-acl-kind.js';
import { EndpointAclPlan } from '../policy/endpoint-acl-plan.js';
import { PolicyState } from '../policy/policy-state.js';
import { createControllerReconciler } from './controller-reconciler.js';
import type { Controller, ControllerContext, ControllerFactory } from './controller.js';

/** Retries of the endpoint listing while a local pod's IP has no endpoint yet. */
export interface EndpointWaitOptions extends BackoffPolicy {
  /** Stop retrying after this long in total; the next resync lists the endpoints again. */
  giveUpAfterMs: number;
}

/** Longest list of pods or endpoints shown in `/status`. */
const STATUS_LIST_LIMIT = 20;

const DEFAULT_ENDPOINT_WAIT: EndpointWaitOptions = { baseMs: 250, maxMs: 8_000, jitter: 0.2, giveUpAfterMs: 60_000 };

export interface PolicyControllerOptions {
  /** This node's name (the `spec.nodeName` of local pods). */
  nodeName(signal: AbortSignal): Promise<string>;
  /** Watches pods, namespaces and policies (watchCluster over a client); resolves when the signal aborts. */
  watch(onEvent: (event: ClusterEvent) => void, signal: AbortSignal): Promise<void>;
  endpointWait?: Partial<EndpointWaitOptions>;
}

/** The policy controller's factory (see the module comment). */
export function policyController(options: PolicyControllerOptions): ControllerFactory {
  return (ctx) => createPolicyController(options, ctx);
}

function describeString(facts: Record<string, unknown>, key: string): string | undefined {
  const value = facts[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The node's own addresses, always allowed both ways: the lease's PublicIP, and from the
 * backend's facts (BackendNetwork.describe) the host-gw bridge endpoint's and the vxlan
 * management address. `plan` passes the facts its preview knows.
 */
export function policyNodeIps(publicIp: string | undefined, facts: Record<string, unknown>): string[] {
  const ips = [publicIp, describeString(facts, 'endpointIp'), describeString(facts, 'managementIp')];
  return [...new Set(ips.filter((ip): ip is string => ip !== undefined && ip !== ''))];
}

/** The daemon's own host endpoint (host-gw `<name>_ep`), which is never a pod's. */
export function policyHostEndpointName(facts: Record<string, unknown>): string | undefined {
  return describeString(facts, 'endpoint');
}

function createPolicyController(options: PolicyControllerOptions, ctx: ControllerContext): Controller {
  const name = 'policy';
  const { network, metrics, hns } = ctx;
  const log = ctx.log.child({ controller: name });
  const wait: EndpointWaitOptions = { ...DEFAULT_ENDPOINT_WAIT, ...options.endpointWait };
  const networkId = (): string => describeString(network.describe(), 'networkId') ?? '';
  const plan = new EndpointAclPlan({ networkId, hostEndpointName: () => policyHostEndpointName(network.describe()) });
  const foreign = new Map<string, number>();
  const problems = new Map<string, readonly string[]>();
  const policies = new Set<string>();
  let nodeName: string | undefined;
  let state: PolicyState | undefined;
  let phase: 'watching' | 'starting' | 'live' = 'watching';
  let converged = false;
  let wakeWaiter: (() => void) | undefined;
  let knownWaiting = new Set<string>();
  let knownAmbiguous = new Set<string>();

  const kind = new EndpointAclKind({
    hns,
    networkId,
    managedEndpoints: () => plan.managed(),
    onForeignAcls: (endpointId, acls) => {
      if (foreign.get(endpointId) === acls.length) return;
      foreign.set(endpointId, acls.length);
      log.warn({ endpointId, foreignAcls: acls.length, ids: acls.slice(0, 5).map((a) => a.Id ?? null) }, 'endpoint holds ACLs that are not ours; they are kept and never rewritten');
    },
    onSkipped: (endpointId, reason) => log.debug({ endpointId, reason }, 'endpoint ACL write skipped'),
    onWritten: (endpointId) => {
      metrics.policyEndpointWrites.inc();
      log.debug({ endpointId }, 'endpoint ACLs written');
    },
  });
  const reconciler = createControllerReconciler(name, kind, ctx, { writesTo: 'hns' });
  metrics.controllerConverged.set({ controller: name }, 0);

  function nodeIps(): string[] {
    return policyNodeIps(ctx.ownLease().attrs.publicIp, network.describe());
  }

  /** Recompiles pods; once live, hands each changed endpoint list to the reconciler. */
  function recompile(pods: Iterable<string>): void {
    if (!state) return;
    const started = performance.now();
    for (const { change } of compileIntoPlan(state, plan, pods)) {
      if (change && phase === 'live') reconciler.setDesired(change.endpointId, change.acls);
    }
    metrics.policyCompileSeconds.observe((performance.now() - started) / 1000);
  }

  function reportProblems(key: string, found: readonly string[], notes: readonly string[]): void {
    if (found.length > 0) {
      problems.set(key, found);
      log.warn({ policy: key, problems: found }, `NetworkPolicy ${key} is partly invalid: ${found.join('; ')}; its bad rules allow nothing`);
    }
    if (notes.length > 0) log.info({ policy: key, notes }, `NetworkPolicy ${key}: ${notes.join('; ')}`);
  }

  function applyPolicy(change: Parameters<PolicyState['applyPolicy']>[0], key: string): ReadonlySet<string> {
    const result = state!.applyPolicy(change);
    if (change.type === 'delete') problems.delete(key);
    else if (change.view.problems.length === 0) problems.delete(key);
    reportProblems(key, result.newProblems, result.newNotes);
    return result.recompile;
  }

  /** Re-matches pods to endpoints; once live, the reconciler gets the new desired map. */
  function rematch(): void {
    plan.rematch();
    for (const endpointId of foreign.keys()) if (!plan.managed().has(endpointId)) foreign.delete(endpointId);
    metrics.policyLocalEndpoints.set(plan.managed().size);
    if (phase === 'live') reconciler.replaceAllDesired(plan.desired());
    const waiting = plan.waiting();
    if (waiting.some((pod) => !knownWaiting.has(pod))) wakeWaiter?.();
    knownWaiting = new Set(waiting);
    const ambiguous = new Set<string>();
    for (const match of plan.ambiguous()) {
      const text = `${match.pod} ${match.reason} ${match.endpointIds.join(',')}`;
      ambiguous.add(text);
      if (!knownAmbiguous.has(text)) {
        log.warn({ pod: match.pod, reason: match.reason, endpointIds: match.endpointIds }, `pod ${match.pod} matches no single HNS endpoint (${match.reason}); its endpoint ACLs are left alone until it does`);
      }
    }
    knownAmbiguous = ambiguous;
  }

  async function listEndpoints(signal: AbortSignal): Promise<void> {
    let endpoints: HostComputeEndpoint[];
    try {
      endpoints = await hns.listEndpoints({ networkId: networkId() });
    } catch (err) {
      ctx.reportHnsError(err);
      throw err;
    }
    signal.throwIfAborted();
    plan.setEndpoints(endpoints);
    rematch();
  }

  function onEvent(event: ClusterEvent): void {
    if (!state) return;
    let pods: ReadonlySet<string> | undefined;
    let matchChanged = false;
    if (event.type === 'snapshot') {
      // Delivered once, after the first listing of every kind.
      ({ pods, matchChanged } = loadClusterSnapshot(event.views, { state, plan, nodeName: nodeName!, applyPolicy }));
      for (const key of event.views.policies.keys()) policies.add(key);
      if (phase === 'watching') phase = 'starting';
    } else if (event.kind === 'Pod') {
      pods = state.applyPod(event.type === 'upsert' ? { type: 'upsert', view: event.object } : { type: 'delete', namespace: event.previous.namespace, name: event.previous.name });
      matchChanged = plan.setPod(event.key, event.type === 'upsert' ? localPodOf(event.object, nodeName) : undefined);
    } else if (event.kind === 'Namespace') {
      pods = state.applyNamespace(event.type === 'upsert' ? { type: 'upsert', view: event.object } : { type: 'delete', name: event.previous.name });
    } else {
      pods = applyPolicy(event.type === 'upsert' ? { type: 'upsert', view: event.object } : { type: 'delete', namespace: event.previous.namespace, name: event.previous.name }, event.key);
      if (event.type === 'delete') policies.delete(event.key);
      else policies.add(event.key);
    }
    if (matchChanged) rematch();
    recompile(pods);
    if (event.type === 'snapshot') void startUp(lifetime!);
  }

  /** After the first snapshot: list endpoints and HNS, hand over the complete desired map, wait for the first apply pass. */
  async function startUp(signal: AbortSignal): Promise<void> {
    try {
      await retryWithBackoff(() => listEndpoints(signal), { signal, log, what: 'list the HNS endpoints of the local pods' });
      await retryWithBackoff(() => reconciler.resync(signal), { signal, log, what: 'list the ACLs of the local pod endpoints' });
      phase = 'live';
      reconciler.replaceAllDesired(plan.desired());
      reconciler.markDesiredSynced();
      log.info({ localPods: plan.localPodCount, endpoints: plan.managed().size, waiting: plan.waiting().length, policies: policies.size }, 'first NetworkPolicy snapshot applied; waiting for the endpoint ACLs to be written');
      for (;;) {
        const stats = reconciler.stats();
        if (stats.queued === 0 && stats.inFlight === 0) break;
        await sleep(10, signal);
      }
      const stats = reconciler.stats();
      if (stats.pendingRetries > 0) log.warn({ failing: stats.pendingRetries }, 'first ACL apply finished with endpoints still failing; they are retried with back-off');
      converged = true;
      metrics.controllerConverged.set({ controller: name }, 1);
      log.info({ controller: name, endpoints: plan.managed().size, applied: stats.applied }, 'endpoint ACLs converged with the cluster');
      ctx.onConverged();
    } catch (err) {
      if (!signal.aborted) log.error({ err: describeError(err) }, 'NetworkPolicy start-up failed');
    }
  }

  /** Lists the endpoints again, with back-off, while a local pod's IP has no endpoint (bounded; then the resync takes over). */
  async function waitForEndpoints(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          wakeWaiter = undefined;
          resolve();
        };
        wakeWaiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
      let spent = 0;
      const backoff = new Backoff(wait);
      while (!signal.aborted && plan.waiting().length > 0 && spent < wait.giveUpAfterMs) {
        const delay = backoff.next();
        await sleep(delay, signal).catch(() => undefined);
        spent += delay;
        if (signal.aborted || phase !== 'live') continue;
        await listEndpoints(signal).catch((err: unknown) => {
          if (!signal.aborted) log.warn({ err: describeError(err) }, 'listing HNS endpoints failed');
        });
      }
      if (!signal.aborted && plan.waiting().length > 0) {
        log.info({ waiting: plan.waiting().slice(0, 10) }, 'local pods still have no HNS endpoint; looking again at the next resync');
      }
    }
  }

  let lifetime: AbortSignal | undefined;

  return {
    name,
    async run(signal) {
      lifetime = signal;
      reconciler.start(signal);
      const depth = setInterval(() => metrics.queueDepth.set({ controller: name, kind: kind.name }, reconciler.stats().queued), 1000);
      depth.unref();
      try {
        nodeName = await retryWithBackoff(() => options.nodeName(signal), { signal, log, what: 'find the node name for NetworkPolicy enforcement' });
        state = new PolicyState({ nodeName, nodeIps: nodeIps() });
        log.info({ node: nodeName, nodeIps: nodeIps() }, 'NetworkPolicy enforcement on; watching pods, namespaces and networkpolicies');
        await Promise.all([options.watch(onEvent, signal), waitForEndpoints(signal)]);
      } catch (err) {
        if (!signal.aborted) throw err;
      } finally {
        clearInterval(depth);
      }
    },
    convergedOnce: () => converged,
    async resync(signal) {
      if (phase !== 'live') return;
      try {
        const ips = state?.setNodeIps(nodeIps());
        if (ips && ips.size > 0) recompile(ips);
        await listEndpoints(signal);
        await reconciler.resync(signal);
      } catch (err) {
        ctx.reportHnsError(err);
        throw err;
      }
    },
    settled: async (signal) => {
      for (;;) {
        const stats = reconciler.stats();
        if ((stats.queued === 0 && stats.inFlight === 0) || signal.aborted) return;
        await sleep(10, signal).catch(() => undefined);
      }
    },
    status: () => {
      const stats = reconciler.stats();
      return {
        kind: kind.name,
        converged,
        node: nodeName,
        localPods: plan.localPodCount,
        localEndpoints: plan.managed().size,
        // The first few by name: enough to investigate, bounded for a node with hundreds of pods.
        podsWithoutEndpoint: { count: plan.waiting().length, first: [...plan.waiting()].sort().slice(0, STATUS_LIST_LIMIT) },
        ambiguousEndpoints: plan.ambiguous().slice(0, STATUS_LIST_LIMIT),
        policies: policies.size,
        endpointsFailing: stats.pendingRetries,
        foreignAcls: Object.fromEntries(foreign),
        problems: Object.fromEntries(problems),
        reconciler: stats,
      };
    },
    explainFlow: (question) => {
      if (!state || phase === 'watching') {
        throw new FlannelWinError('POLICY_NOT_LOADED', 'the daemon has not listed pods, namespaces and networkpolicies yet; ask again in a moment', {});
      }
      const stats = reconciler.stats();
      return { ...answerFlowQuestion(state, question), pendingEndpointWrites: stats.queued + stats.inFlight + stats.pendingRetries };
    },
    drain: () => reconciler.drain(),
  };
}
