import type { RouteTable } from '../routes/route-table.js';

/** "vEthernet (Ethernet 2)" → "Ethernet 2": the adapter a vSwitch was built on. */
export function physicalAdapterName(interfaceName: string): string {
  const m = /^vEthernet \((.+)\)$/.exec(interfaceName);
  return m ? m[1]! : interfaceName;
}

/**
 * The adapter name to put in a new network's NetAdapterName policy, chosen at the moment the
 * network is created. The interface selected at start-up may be the vSwitch's
 * "vEthernet (<adapter>)", which vanishes with the last network on it (a subnet move deletes
 * ours, an HNS restart drops all of them): HNS then knows only the physical adapter. So the
 * interface holding `ip` is looked up again and its physical name used; when none holds it
 * (the host is between adapters), the start-up choice is unwrapped the same way.
 */
export async function adapterForNewNetwork(routes: Pick<RouteTable, 'listInterfaces'>, ip: string, selectedName: string): Promise<string> {
  const holder = (await routes.listInterfaces()).find((i) => i.ipv4Addresses.includes(ip));
  return physicalAdapterName(holder?.name ?? selectedName);
}
