import { sleep } from '../async/abortable-sleep.js';
import type { NetInterface, RouteTable } from '../routes/route-table.js';

/**
 * Waits for a host interface holding `ip` to be up. Creating an Overlay or L2Bridge network
 * swaps the NIC for a vEthernet adapter (new index, same address); until it is back, the host
 * is off the network. Returns undefined on timeout so the caller can decide how bad that is.
 */
export async function waitForInterfaceWithIp(
  routes: RouteTable,
  ip: string,
  options: { timeoutMs: number; pollMs: number; signal: AbortSignal },
): Promise<NetInterface | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const found = (await routes.listInterfaces()).find((i) => i.up && i.ipv4Addresses.includes(ip));
    if (found) return found;
    if (Date.now() >= deadline || options.signal.aborted) return undefined;
    await sleep(options.pollMs, options.signal);
  }
}
