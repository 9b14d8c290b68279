/**
 * A reference model of Kubernetes NetworkPolicy semantics, straight from the documentation,
 * reading the raw objects of a random world (no code shared with the compiler or with
 * src/policy/kube-semantics.ts): the property tests hold both against it.
 */
import type { PodView } from '../../src/policy/model.js';
import { NODE_IP, type RandomWorld, type RawPolicy } from './random-world.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  const bits = Number(len);
  const size = 2 ** (32 - bits);
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base!) / size);
}

function labelMatch(sel: Raw | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel['matchLabels'] ?? {})) if (labels[k] !== v) return false;
  for (const e of sel['matchExpressions'] ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Kubernetes semantics over a random world's raw objects. */
export class Reference {
  constructor(private readonly world: RandomWorld) {}

  /** The live pod holding `ip`, if any (a finished pod's IP is just an address). */
  podAt(ip: string): PodView | undefined {
    return this.world.pods.find((p) => p.ips.includes(ip) && p.phase !== 'Succeeded' && p.phase !== 'Failed');
  }

  nsLabels(name: string): Record<string, string> {
    return { ...(this.world.namespaces.find((n) => n.name === name)?.labels ?? {}), 'kubernetes.io/metadata.name': name };
  }

  types(p: RawPolicy): string[] {
    const t = p.spec['policyTypes'] as string[] | undefined;
    if (t && t.length > 0) return t;
    const egress = p.spec['egress'] as unknown[] | undefined;
    return egress && egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }

  selecting(pod: PodView, type: string): RawPolicy[] {
    return this.world.policies.filter((p) => p.metadata.namespace === pod.namespace && labelMatch(p.spec['podSelector'] as Raw, pod.labels) && this.types(p).includes(type));
  }

  ruleValid(rule: Raw): boolean {
    return (rule['ports'] ?? []).every((p: Raw) => {
      const protoOk = p['protocol'] === undefined || p['protocol'] in PROTO;
      const portOk = p['port'] === undefined || typeof p['port'] === 'string' || (p['port'] >= 1 && p['port'] <= 65535);
      const endOk = p['endPort'] === undefined || (typeof p['port'] === 'number' && p['endPort'] >= p['port']);
      return protoOk && portOk && endOk;
    });
  }

  peerMatches(peer: Raw, policyNs: string, ip: string): boolean {
    if (peer['ipBlock']) return inCidr(ip, peer['ipBlock'].cidr) && !(peer['ipBlock'].except ?? []).some((e: string) => inCidr(ip, e));
    const pod = this.podAt(ip);
    if (!pod) return false;
    const nsOk = peer['namespaceSelector'] ? labelMatch(peer['namespaceSelector'], this.nsLabels(pod.namespace)) : pod.namespace === policyNs;
    return nsOk && labelMatch(peer['podSelector'], pod.labels);
  }

  portMatches(entry: Raw, protocol: number, port: number, receiver: PodView | undefined): boolean {
    if (PROTO[entry['protocol'] ?? 'TCP'] !== protocol) return false;
    const p = entry['port'];
    if (p === undefined) return true;
    if (typeof p === 'number') return port >= p && port <= (entry['endPort'] ?? p);
    return receiver !== undefined && receiver.namedPorts.some((np) => np.name === p && PROTO[np.protocol] === protocol && np.port === port);
  }

  /** Does `local`'s policy in `direction` let a connection with `remoteIp` on `port`/`protocol` through? */
  allows(local: PodView, direction: 'In' | 'Out', remoteIp: string, port: number, protocol: number): boolean {
    if (remoteIp === NODE_IP || local.ips.includes(remoteIp)) return true;
    const type = direction === 'In' ? 'Ingress' : 'Egress';
    const policies = this.selecting(local, type);
    if (policies.length === 0) return true;
    const receiver = direction === 'In' ? local : this.podAt(remoteIp);
    return policies.some((p) =>
      ((p.spec[direction === 'In' ? 'ingress' : 'egress'] as Raw[] | undefined) ?? []).some((rule) => {
        if (!this.ruleValid(rule)) return false;
        const peers = (direction === 'In' ? (rule['from'] ?? rule['_from']) : rule['to']) as Raw[] | undefined;
        const ports = rule['ports'] as Raw[] | undefined;
        const peerOk = !peers || peers.length === 0 || peers.some((peer) => this.peerMatches(peer, p.metadata.namespace, remoteIp));
        const portOk = !ports || ports.length === 0 || ports.some((e) => this.portMatches(e, protocol, port, receiver));
        return peerOk && portOk;
      }),
    );
  }
}

