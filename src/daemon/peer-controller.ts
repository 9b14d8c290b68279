import type { NetworkRepair } from '../backends/backend.js';
import { peerLeaseRules } from '../lease/peer-lease-validation.js';
import { createControllerReconciler } from './controller-reconciler.js';
import type { Controller, ControllerContext } from './controller.js';
import { PeerSync } from './peer-sync.js';

/** At most this many peers are listed one by one in `/status`; the count is always complete. */
const PEER_LIST_LIMIT = 2000;

/**
 * The first controller: peer leases → the backend's per-peer objects (remote-subnet routes on
 * the Overlay network, or host routes). Its desired state comes from the lease stream.
 */
export function peerController(ctx: ControllerContext): Controller {
  const name = 'peers';
  const { network, metrics, log } = ctx;
  const reconciler = createControllerReconciler(name, network.kind, ctx, { writesTo: network.writesTo });
  let converged = false;
  const peerSync: PeerSync<unknown> = new PeerSync<unknown>({
    subnetManager: ctx.subnetManager,
    ownLease: ctx.ownLease(),
    decide: (lease) => network.decide(lease),
    rules: peerLeaseRules({ netConfig: ctx.netConfig, ownLease: ctx.ownLease(), storeKind: ctx.subnetManager.kind }),
    reconciler,
    log,
    hooks: {
      onFirstConverged: () => {
        converged = true;
        metrics.controllerConverged.set({ controller: name }, 1);
        const stats = reconciler.stats();
        log.info({ controller: name, peers: peerSync.peerCount, applied: stats.applied, failed: stats.failed }, 'dataplane converged with the lease store');
        ctx.onConverged();
      },
      onWatchRestart: () => {
        metrics.watchRestarts.inc({ store: ctx.subnetManager.kind });
        metrics.storeErrors.inc({ store: ctx.subnetManager.kind, operation: 'watch' });
      },
      onRelist: () => metrics.relists.inc({ store: ctx.subnetManager.kind }),
      onChanges: (changes) => {
        for (const change of changes) metrics.leaseEvents.inc({ type: change.type });
        metrics.peers.set(peerSync.peerCount);
        metrics.unusablePeers.set(peerSync.unusablePeers().size);
      },
    },
  });
  metrics.controllerConverged.set({ controller: name }, 0);

  return {
    name,
    async run(signal) {
      reconciler.start(signal);
      const depth = setInterval(() => metrics.queueDepth.set({ controller: name, kind: network.kind.name }, reconciler.stats().queued), 1000);
      depth.unref();
      try {
        await peerSync.run(signal);
      } finally {
        clearInterval(depth);
      }
    },
    convergedOnce: () => converged,
    async resync(signal) {
      try {
        await reconciler.resync(signal);
      } catch (err) {
        metrics.resyncs.inc({ controller: name, kind: network.kind.name, result: 'error' });
        ctx.reportHnsError(err);
        throw err;
      }
    },
    networkRepaired(repair: NetworkRepair) {
      if (repair.peersChanged) peerSync.redecideAll();
    },
    retryNow() {
      reconciler.retryNow();
    },
    settled: async (signal) => {
      await peerSync.settled(signal);
    },
    peerCount: () => peerSync.peerCount,
    status: () => ({
      kind: network.kind.name,
      converged,
      peers: peerSync.peerCount,
      unusablePeers: [...peerSync.unusablePeers().values()],
      reconciler: reconciler.stats(),
      // Bounded: /status of a node in a 5,000-node cluster stays readable and cheap.
      peerList: peerSync.peerStates(PEER_LIST_LIMIT),
      store: { kind: ctx.subnetManager.kind, ...peerSync.streamState() },
    }),
    drain: () => reconciler.drain(),
  };
}
