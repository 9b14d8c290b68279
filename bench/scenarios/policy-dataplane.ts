/**
 * NetworkPolicy on the node's pod endpoints, end to end: the daemon as a child process in kube
 * mode (the V8 options the DaemonSet ships) against the HTTPS test API server, on a simulated
 * host with 100 local pod endpoints added as the CNI adds them; 100 namespaces, 10,000 pods,
 * 500 policies (bench/support/policy-world.ts). Prints the cold start to every endpoint
 * programmed, the endpoint writes of a cold start, a restart, one pod label change and one policy
 * change (against the endpoints whose compiled list really changed, from the compiler run here),
 * the time from an API event to the endpoint write, and the daemon's peak RSS.
 *
 * How writes are timed: the daemon runs with `--log-level=debug`, and the simulated host logs
 * every HNS write with the line's time (the daemon's clock when the call reached the simulated
 * HNS, to the millisecond). An event's time is Date.now() here just before the test API server
 * writes it to the open watch streams; both clocks are the same host's. The counts from the log
 * are checked against the simulator's own `counters.modifyEndpoint` at the end.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSimEndpoint } from '../../src/cli/sim-endpoint-command.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { readHostFile } from '../../src/sim/state-view.js';
import type { AclPolicySetting } from '../../src/hns/types.js';
import { DaemonProcess } from '../../test/support/daemon-process.js';
import { freePort } from '../../test/support/free-port.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import type { StoredObject } from '../../test/support/kube-resource-store.js';
import type { Report } from '../run.js';
import { EndpointWriteLog } from '../support/endpoint-write-log.js';
import { PolicyReference } from '../support/policy-reference.js';
import {
  changedPolicy, LABEL_CHANGE_POD, localPodIndexes, namespaceObject, podIp, podKey, podName, podObject, policyObjects, WORLD,
} from '../support/policy-world.js';
import { percentile, processPeakRssMiB } from '../support/proc-stats.js';
import { shippedNodeFlags } from '../support/shipped-node-flags.js';

const PUBLIC_IP = '192.168.1.10';
const SERVICE_CIDR = '10.96.0.0/12';
/** How long a cold start may take to program every endpoint before the scenario gives up. */
const PROGRAM_TIMEOUT_MS = 120_000;
/** No endpoint write for this long after the expected ones: the daemon is done with an event. */
const QUIET_MS = 2_000;
const LATENCY_EVENTS = 100;

interface Run {
  daemon: DaemonProcess;
  writes: EndpointWriteLog;
  startedAt: number;
}

class PolicyDataplaneBench {
  readonly #dir: string;
  readonly #server: KubeApiServer;
  readonly #hostFile: string;
  readonly #args: string[];
  readonly #env: Record<string, string>;
  readonly #nodeFlags: string[];
  readonly #port: number;
  /** Pod key → endpoint id (lower case). */
  readonly #endpointOf = new Map<string, string>();
  readonly #podOf = new Map<string, string>();
  #run: Run | undefined;

  constructor(dir: string, server: KubeApiServer, port: number, nodeFlags: string[]) {
    this.#dir = dir;
    this.#server = server;
    this.#hostFile = join(dir, 'host.json');
    this.#port = port;
    this.#args = [
      '--kube-subnet-mgr',
      `--kubeconfig-file=${server.kubeconfigPath}`,
      `--net-config-path=${join(dir, 'net-conf.json')}`,
      '--dataplane=sim',
      '--sim-with-real-store',
      `--sim-state=${this.#hostFile}`,
      `--subnet-file=${join(dir, 'subnet.env')}`,
      `--public-ip=${PUBLIC_IP}`,
      '--healthz-ip=127.0.0.1',
      `--healthz-port=${port}`,
      '--resync-interval=3600',
      '--log-level=debug',
    ];
    this.#env = { NODE_NAME: WORLD.node };
    this.#nodeFlags = nodeFlags;
  }

  get run(): Run {
    if (!this.#run) throw new Error('the daemon is not running');
    return this.#run;
  }

  get endpoints(): ReadonlyMap<string, string> {
    return this.#endpointOf;
  }

  async prepare(): Promise<void> {
    await writeFile(join(this.#dir, 'net-conf.json'), JSON.stringify({ Network: WORLD.clusterCidr, Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } }));
    await (await openSimHost({ stateFile: this.#hostFile, publicIp: PUBLIC_IP })).close();
    this.#server.addNode({ name: WORLD.node, podCIDR: WORLD.nodePodCidr, labels: { 'kubernetes.io/os': 'windows' } });
  }

  start(): Run {
    const startedAt = Date.now();
    const daemon = DaemonProcess.start(this.#args, this.#env, this.#nodeFlags);
    this.#run = { daemon, writes: new EndpointWriteLog(daemon), startedAt };
    return this.#run;
  }

  async stop(): Promise<void> {
    await this.#run?.daemon.stop();
    this.#run = undefined;
  }

  /** Waits for `check`, failing at once if the daemon exits, with `what` and its last log lines. */
  async until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const { daemon } = this.run;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
        throw new Error(`the daemon exited (${daemon.child.exitCode ?? daemon.child.signalCode}) while waiting for ${what}:\n${daemon.rawStderr.slice(-15).join('\n')}`);
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async ready(): Promise<boolean> {
    return (await fetch(`http://127.0.0.1:${this.#port}/readyz`).catch(() => undefined))?.status === 200;
  }

  /** Waits until no endpoint write has come for QUIET_MS. */
  async quiet(): Promise<void> {
    const { writes } = this.run;
    let count = writes.mark();
    let since = Date.now();
    await this.until('the daemon to stop writing endpoints', () => {
      const now = writes.mark();
      if (now !== count) {
        count = now;
        since = Date.now();
      }
      return Date.now() - since >= QUIET_MS;
    });
  }

  /** The local pods' endpoints, as the CNI creates them (while the daemon runs). */
  async addEndpoints(): Promise<void> {
    for (const i of localPodIndexes()) {
      const id = (await addSimEndpoint({ stateFile: this.#hostFile, ip: podIp(i), name: podName(i), clusterCidr: WORLD.clusterCidr, serviceCidr: SERVICE_CIDR })).toLowerCase();
      this.#endpointOf.set(podKey(i), id);
      this.#podOf.set(id, podKey(i));
    }
  }

  /** The pods an endpoint write went to that the compiler did not expect, by pod name. */
  unexpected(written: ReadonlyMap<string, number>, affected: ReadonlySet<string>): string[] {
    return [...written.keys()].filter((id) => !affected.has(this.#podOf.get(id) ?? id)).map((id) => this.#podOf.get(id) ?? `endpoint ${id} (no local pod)`);
  }

  async modifyEndpointCounter(): Promise<number> {
    return (await readHostFile(this.#hostFile)).counters['modifyEndpoint'] ?? 0;
  }

  /** Our ACL rule Ids on each endpoint, as the simulated host holds them. */
  async programmedRuleIds(): Promise<Map<string, string[]>> {
    const state = await readHostFile(this.#hostFile);
    const out = new Map<string, string[]>();
    for (const e of state.endpoints) {
      const pod = this.#podOf.get(e.ID.toLowerCase());
      if (!pod) continue;
      const ids = (e.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => (p.Settings as AclPolicySetting).Id ?? '').filter((id) => id.startsWith('flannel-win:'));
      out.set(pod, ids.sort());
    }
    return out;
  }
}

/** Puts an object into the API server; returns Date.now() just before its watch event is written. */
function emit(server: KubeApiServer, kind: 'pods' | 'networkpolicies', object: StoredObject): number {
  const at = Date.now();
  server.put(kind, object);
  return at;
}

export default async function run(report: Report): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-policy-'));
  const server = await KubeApiServer.start();
  const bench = new PolicyDataplaneBench(dir, server, await freePort(), await shippedNodeFlags());
  const reference = new PolicyReference(WORLD.node, [PUBLIC_IP]);
  let logWrites = 0;
  try {
    await bench.prepare();

    // The node joins with its pods' endpoints and no policy yet: the network exists, nothing
    // is isolated, so nothing is written.
    bench.start();
    await bench.until('the first start to be ready', () => bench.ready());
    await bench.addEndpoints();
    await bench.quiet();
    logWrites += bench.run.writes.mark();
    await bench.stop();

    // The cluster, then a cold start with every policy already there (policy enforcement
    // switched on, or a node rebooted with its pods' endpoints still in HNS).
    const load = (kind: 'namespaces' | 'pods' | 'networkpolicies', object: StoredObject) => {
      server.put(kind, object);
      reference.load(kind, object);
    };
    for (let n = 0; n < WORLD.namespaces; n++) load('namespaces', namespaceObject(n));
    for (let i = 0; i < WORLD.pods; i++) load('pods', podObject(i));
    for (let n = 0; n < WORLD.namespaces; n++) for (const policy of policyObjects(n)) load('networkpolicies', policy);
    const locals = reference.compileAll();
    if (locals.length !== bench.endpoints.size) throw new Error(`the compiler sees ${locals.length} local pods, the host has ${bench.endpoints.size} endpoints`);

    const cold = bench.start();
    const everyEndpoint = new Set(bench.endpoints.values());
    await bench.until(`the cold start to program the ${everyEndpoint.size} local endpoints`, () => {
      const written = new Set(cold.writes.all.map((w) => w.id));
      return [...everyEndpoint].every((id) => written.has(id));
    }, PROGRAM_TIMEOUT_MS).catch((err: Error) => {
      const written = new Set(cold.writes.all.map((w) => w.id));
      const programmed = [...everyEndpoint].filter((id) => written.has(id)).length;
      throw new Error(programmed === 0
        ? `no endpoint programmed within ${PROGRAM_TIMEOUT_MS / 1000} s of the cold start (no HcnModifyEndpoint on any of the ${everyEndpoint.size} local pod endpoints: is NetworkPolicy enforcement wired into the daemon?)`
        : `${programmed} of ${everyEndpoint.size} endpoints programmed within ${PROGRAM_TIMEOUT_MS / 1000} s of the cold start (${err.message})`);
    });
    const firstWrite = new Map<string, number>();
    for (const w of cold.writes.all) if (!firstWrite.has(w.id)) firstWrite.set(w.id, w.at);
    report('cold_start_to_first_endpoint_write', Math.min(...firstWrite.values()) - cold.startedAt, 'ms', 'process spawn to the first HcnModifyEndpoint');
    report('cold_start_to_all_endpoints_programmed', Math.max(...firstWrite.values()) - cold.startedAt, 'ms', `${everyEndpoint.size} endpoints, ${WORLD.pods} pods, ${WORLD.namespaces * WORLD.policiesPerNamespace} policies; process spawn to the last first write`);
    await bench.until('the cold start to be ready', () => bench.ready());
    report('cold_start_to_ready', Date.now() - cold.startedAt, 'ms');
    await bench.quiet();
    report('cold_start_endpoint_writes', cold.writes.mark(), 'writes', `${everyEndpoint.size} (one per local pod)`);

    // One pod label change, one policy change: the writes against the endpoints whose compiled
    // list really changed.
    const events: [string, () => { at: number; affected: Set<string> }][] = [
      ['pod_label_change', () => {
        const pod = podObject(LABEL_CHANGE_POD, '-canary');
        const affected = reference.pod(pod);
        return { at: emit(server, 'pods', pod), affected };
      }],
      ['policy_change', () => {
        const policy = changedPolicy();
        const affected = reference.policy(policy);
        return { at: emit(server, 'networkpolicies', policy), affected };
      }],
    ];
    for (const [name, make] of events) {
      const mark = cold.writes.mark();
      const { affected } = make();
      if (affected.size === 0) throw new Error(`${name}: the compiler says no local pod's ACLs change; the benchmark's world is wrong`);
      const wanted = [...affected].map((key) => bench.endpoints.get(key)!);
      await bench.until(`${name}: the ${affected.size} affected endpoints written`, () => {
        const written = cold.writes.countsSince(mark);
        return wanted.every((id) => written.has(id));
      });
      await bench.quiet();
      const written = cold.writes.countsSince(mark);
      const total = [...written.values()].reduce((a, b) => a + b, 0);
      const extra = bench.unexpected(written, affected);
      report(`${name}.affected_endpoints`, affected.size, 'endpoints', 'whose compiled ACLs change');
      report(`${name}.endpoint_writes`, total, 'writes', `${affected.size} (one per affected endpoint)${extra.length > 0 ? `; unaffected written: ${extra.slice(0, 5).join(', ')}` : ''}`);
    }

    // API event -> endpoint write, one event at a time: the pod's label and the policy flip back
    // and forth, alternately.
    const perWrite: number[] = [];
    const perEvent: number[] = [];
    const firstPerEvent: number[] = [];
    let unexpectedWrites = 0;
    for (let k = 0; k < LATENCY_EVENTS; k++) {
      const back = Math.floor(k / 2) % 2 === 0;
      const mark = cold.writes.mark();
      let at: number;
      let affected: Set<string>;
      if (k % 2 === 0) {
        const pod = podObject(LABEL_CHANGE_POD, back ? '' : '-canary');
        affected = reference.pod(pod);
        at = emit(server, 'pods', pod);
      } else {
        const policy = back ? policyObjects(42)[1]! : changedPolicy();
        affected = reference.policy(policy);
        at = emit(server, 'networkpolicies', policy);
      }
      const wanted = [...affected].map((key) => bench.endpoints.get(key)!);
      await bench.until(`latency event ${k}: the ${wanted.length} affected endpoints written`, () => {
        const written = cold.writes.countsSince(mark);
        return wanted.every((id) => written.has(id));
      });
      const writes = cold.writes.since(mark);
      const wantedSet = new Set(wanted);
      for (const w of writes) {
        if (wantedSet.has(w.id)) perWrite.push(w.at - at);
        else unexpectedWrites++;
      }
      const times = writes.filter((w) => wantedSet.has(w.id)).map((w) => w.at - at);
      firstPerEvent.push(Math.min(...times));
      perEvent.push(Math.max(...times));
    }
    await bench.quiet();
    perWrite.sort((a, b) => a - b);
    perEvent.sort((a, b) => a - b);
    firstPerEvent.sort((a, b) => a - b);
    report('api_event_to_endpoint_write_p50', percentile(perWrite, 50), 'ms', `${perWrite.length} writes of ${LATENCY_EVENTS} events (pod label / policy, alternately)`);
    report('api_event_to_endpoint_write_p99', percentile(perWrite, 99), 'ms');
    report('api_event_to_first_endpoint_write_p50', percentile(firstPerEvent, 50), 'ms', 'per event: watch, recompile, compare, first write');
    report('api_event_to_first_endpoint_write_p99', percentile(firstPerEvent, 99), 'ms');
    report('api_event_to_last_endpoint_written_p99', percentile(perEvent, 99), 'ms', 'per event, every affected endpoint (one write at a time)');
    report('latency_events_unexpected_writes', unexpectedWrites, 'writes', '0');
    report('peak_rss', await processPeakRssMiB(bench.run.daemon.child.pid!), 'MiB', `node ${(await shippedNodeFlags()).join(' ')}, debug logging on`);
    logWrites += cold.writes.mark();
    await bench.stop();

    // A restart with nothing changed.
    const before = await bench.modifyEndpointCounter();
    const restart = bench.start();
    await bench.until('the restart to be ready', () => bench.ready());
    report('restart_to_ready', Date.now() - restart.startedAt, 'ms');
    await bench.quiet();
    logWrites += restart.writes.mark();
    await bench.stop();
    report('restart_endpoint_writes', (await bench.modifyEndpointCounter()) - before, 'writes', '0');

    // The figures above come from the log: they must agree with the simulator's own counter,
    // and what is programmed must be what the compiler gives.
    const counted = await bench.modifyEndpointCounter();
    if (counted !== logWrites) throw new Error(`the simulated host counted ${counted} endpoint writes, its debug log ${logWrites}: the figures above are not trustworthy`);
    const programmed = await bench.programmedRuleIds();
    const matching = locals.filter((key) => JSON.stringify(programmed.get(key)) === JSON.stringify(reference.ruleIds(key))).length;
    report('endpoints_holding_the_compiled_rules', matching, 'endpoints', `${locals.length} (rule Ids equal to the compiler's)`);
  } finally {
    await bench.stop();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
