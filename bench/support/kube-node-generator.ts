/**
 * Node objects the size kubelet makes them (~7-8 KB of JSON each): labels and annotations as
 * kubeadm and the CRI set them, flannel's annotations, and a status with addresses, capacity,
 * five conditions with their messages, node info and the ~30 images a node typically holds.
 * Most of a Node's bytes are things flannel never reads; they are what a listing must carry.
 */
import type { TestNode } from '../../test/support/kube-api-server.js';
import { linuxVxlanAnnotations } from '../../test/support/kube-fixtures.js';
import { benchPeer } from './bench-cluster.js';

const IMAGES = [
  'registry.k8s.io/kube-proxy', 'docker.io/flannel/flannel', 'docker.io/flannel/flannel-cni-plugin', 'registry.k8s.io/pause',
  'registry.k8s.io/coredns/coredns', 'quay.io/prometheus/node-exporter', 'docker.io/library/nginx', 'docker.io/library/redis',
  'gcr.io/datadoghq/agent', 'docker.io/fluent/fluent-bit', 'quay.io/jetstack/cert-manager-controller', 'registry.k8s.io/metrics-server/metrics-server',
  'docker.io/grafana/promtail', 'quay.io/cilium/hubble-relay', 'docker.io/bitnami/postgresql', 'docker.io/library/busybox',
  'ghcr.io/external-secrets/external-secrets', 'registry.k8s.io/ingress-nginx/controller', 'docker.io/istio/proxyv2', 'docker.io/library/python',
  'docker.io/library/node', 'docker.io/library/golang', 'mcr.microsoft.com/oss/kubernetes/pause', 'quay.io/argoproj/argocd',
  'docker.io/rancher/local-path-provisioner', 'registry.k8s.io/sig-storage/csi-node-driver-registrar', 'registry.k8s.io/sig-storage/livenessprobe',
  'docker.io/velero/velero', 'docker.io/library/alpine', 'quay.io/kiwigrid/k8s-sidecar',
];

function digest(seed: number): string {
  let hex = '';
  let x = seed * 2654435761;
  while (hex.length < 64) {
    x = (x * 1103515245 + 12345) >>> 0;
    hex += x.toString(16).padStart(8, '0');
  }
  return hex.slice(0, 64);
}

function condition(type: string, status: string, reason: string, message: string): Record<string, unknown> {
  return { type, status, lastHeartbeatTime: '2026-11-29T09:00:00Z', lastTransitionTime: '2026-11-20T08:00:00Z', reason, message };
}

/** Linux node `i` running flannel (vxlan), with kubelet's status. */
export function realisticLinuxNode(i: number): { name: string; podCIDR: string; annotations: Record<string, string>; labels: Record<string, string>; status: Record<string, unknown> } {
  const peer = benchPeer(i);
  const name = `linux-${i}`;
  return {
    name,
    podCIDR: peer.subnet,
    annotations: {
      ...linuxVxlanAnnotations(peer.publicIp, peer.vtepMac),
      'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
      'node.alpha.kubernetes.io/ttl': '0',
      'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      'csi.volume.kubernetes.io/nodeid': `{"csi.tigera.io":"${name}","ebs.csi.aws.com":"i-0${digest(i).slice(0, 16)}"}`,
    },
    labels: {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'm6i.2xlarge',
      'topology.kubernetes.io/region': 'eu-west-1',
      'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}`,
      'node-role.kubernetes.io/worker': '',
    },
    status: {
      capacity: { cpu: '8', 'ephemeral-storage': '203056560Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '32408152Ki', pods: '110' },
      allocatable: { cpu: '7910m', 'ephemeral-storage': '187136715387', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '31391320Ki', pods: '110' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status. AppArmor enabled'),
        condition('NetworkUnavailable', 'False', 'FlannelIsUp', 'Flannel is running on this node'),
      ],
      addresses: [
        { type: 'InternalIP', address: peer.publicIp },
        { type: 'Hostname', address: name },
        { type: 'InternalDNS', address: `ip-${peer.publicIp.replaceAll('.', '-')}.eu-west-1.compute.internal` },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: digest(i).slice(0, 32),
        systemUUID: `ec2${digest(i + 1).slice(0, 5)}-${digest(i + 2).slice(0, 4)}-${digest(i + 3).slice(0, 4)}-${digest(i + 4).slice(0, 4)}-${digest(i + 5).slice(0, 12)}`,
        bootID: `${digest(i + 6).slice(0, 8)}-${digest(i + 7).slice(0, 4)}-${digest(i + 8).slice(0, 4)}-${digest(i + 9).slice(0, 4)}-${digest(i + 10).slice(0, 12)}`,
        kernelVersion: '6.8.0-1019-aws',
        osImage: 'Ubuntu 24.04.1 LTS',
        containerRuntimeVersion: 'containerd://1.7.22',
        kubeletVersion: 'v1.31.2',
        kubeProxyVersion: 'v1.31.2',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: IMAGES.map((image, k) => ({
        names: [`${image}@sha256:${digest(i * 31 + k)}`, `${image}:v1.${k}.${i % 7}`],
        sizeBytes: 10_000_000 + ((i * 7919 + k * 104729) % 400_000_000),
      })),
    },
  };
}

/** Gives a node the status kubelet would have written (the test server stores what it is given). */
export function withStatus(node: TestNode, status: Record<string, unknown>): void {
  Object.assign(node.status as Record<string, unknown>, status);
}
