import { Etcd3, type Lease as EtcdLease } from 'etcd3';

/** A fake Linux peer's lease, as flannel writes it. Peers sit in 10.0.0.0/8 so 5,000 of them fit. */
export interface BenchPeer {
  key: string;
  subnet: string;
  publicIp: string;
  vtepMac: string;
}

export type BenchBackend = 'vxlan' | 'host-gw';

/**
 * Peer `i`'s lease. vxlan peers sit anywhere (172.16/12); host-gw peers must share our L2
 * segment, which the host-gw scenario widens to 192.168.0.0/16.
 */
export function benchPeer(i: number, macSeed = 0, backend: BenchBackend = 'vxlan'): BenchPeer {
  const a = (i >> 8) & 255;
  const b = i & 255;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    key: `10.${a + 1}.${b}.0-24`,
    subnet: `10.${a + 1}.${b}.0/24`,
    publicIp:
      backend === 'vxlan'
        ? `172.${16 + Math.floor(i / 64516)}.${Math.floor(i / 254) % 254}.${(i % 254) + 1}`
        : `192.168.${2 + Math.floor(i / 254)}.${(i % 254) + 1}`,
    vtepMac: `52:${hex(macSeed)}:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`,
  };
}

/** The value Linux flannel writes for the peer (compat/flannel.md §2.3). */
export function peerValue(peer: BenchPeer, backend: BenchBackend = 'vxlan'): string {
  return backend === 'vxlan'
    ? `{"PublicIP":"${peer.publicIp}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"${peer.vtepMac}"}}`
    : `{"PublicIP":"${peer.publicIp}","PublicIPv6":null,"BackendType":"host-gw"}`;
}

export function benchNetConf(backend: BenchBackend = 'vxlan'): string {
  const b = backend === 'vxlan' ? '{"Type":"vxlan","VNI":4096,"Port":4789}' : '{"Type":"host-gw"}';
  return `{"Network":"10.0.0.0/8","SubnetLen":24,"Backend":${b}}`;
}

/** Writes leases the way a cluster of Linux flannel nodes would, each under a 24 h etcd lease. */
export class BenchCluster {
  readonly client: Etcd3;
  private etcdLease: EtcdLease;
  constructor(readonly endpoint: string, readonly prefix: string, readonly backend: BenchBackend = 'vxlan') {
    this.client = new Etcd3({ hosts: endpoint });
    this.etcdLease = this.client.lease(86_400, { autoKeepAlive: false });
  }

  async writeConfig(text = benchNetConf(this.backend)): Promise<void> {
    await this.client.put(`${this.prefix}/config`).value(text);
  }

  async putPeers(peers: readonly BenchPeer[], options: { newLease?: boolean } = {}): Promise<void> {
    // A renewal round: flannel re-puts the same value under a fresh etcd lease.
    if (options.newLease) this.etcdLease = this.client.lease(86_400, { autoKeepAlive: false });
    if (peers.length === 1) {
      const peer = peers[0]!;
      await this.#retried(() => this.etcdLease.put(this.keyOf(peer)).value(peerValue(peer, this.backend)).exec());
      return;
    }
    // Many peers go in transactions of up to 128 puts (etcd's default --max-txn-ops): one disk
    // sync each instead of one per key, so 20,000 peers take seconds, not minutes, on a busy
    // machine.
    const lease = await this.etcdLease.grant();
    for (let i = 0; i < peers.length; i += 128) {
      const success = peers.slice(i, i + 128).map((p) => ({ request_put: { key: Buffer.from(this.keyOf(p)), value: Buffer.from(peerValue(p, this.backend)), lease } }));
      await this.#retried(() => this.client.kv.txn({ success }));
    }
  }

  /** etcd on a busy machine sometimes answers "request timed out": puts are idempotent, so try again. */
  async #retried(write: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  private keyOf(peer: BenchPeer): string {
    return `${this.prefix}/subnets/${peer.key}`;
  }

  async deletePeer(peer: BenchPeer): Promise<void> {
    await this.client.delete().key(`${this.prefix}/subnets/${peer.key}`);
  }

  close(): void {
    this.client.close();
  }
}
