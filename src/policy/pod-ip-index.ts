/**
 * Which pods hold an IPv4 address: the index behind "who is 10.244.1.5?" questions (`explain`
 * over the health server). Two pods can hold one address for a while (a finished pod and the
 * new pod given its address), so an address maps to every pod that lists it; the reader decides.
 * It holds the views the policy state already keeps, so an entry costs a map slot, not a copy.
 */
import type { PodView } from './model.js';

const samePod = (a: PodView, b: PodView): boolean => a.namespace === b.namespace && a.name === b.name;

/** Pods by IPv4 address (unsigned 32-bit), kept by upsert and removal. */
export class PodIpIndex {
  /** One pod is the common case; an array only while pods share the address. */
  private readonly byIp = new Map<number, PodView | PodView[]>();

  /** A pod changed: its `before` addresses are dropped, its `after` ones recorded with the new view. */
  update(before: { view: PodView; ip4: readonly number[] } | undefined, after: { view: PodView; ip4: readonly number[] } | undefined): void {
    for (const ip of before?.ip4 ?? []) this.remove(ip, before!.view);
    for (const ip of after?.ip4 ?? []) this.add(ip, after!.view);
  }

  /** The pods listing `ip`, in no particular order. */
  podsAt(ip: number): readonly PodView[] {
    const found = this.byIp.get(ip);
    return found === undefined ? [] : Array.isArray(found) ? found : [found];
  }

  private add(ip: number, pod: PodView): void {
    const found = this.byIp.get(ip);
    if (found === undefined) this.byIp.set(ip, pod);
    else if (!Array.isArray(found)) this.byIp.set(ip, samePod(found, pod) ? pod : [found, pod]);
    else this.byIp.set(ip, [...found.filter((p) => !samePod(p, pod)), pod]);
  }

  private remove(ip: number, pod: PodView): void {
    const found = this.byIp.get(ip);
    if (found === undefined) return;
    if (!Array.isArray(found)) {
      if (samePod(found, pod)) this.byIp.delete(ip);
      return;
    }
    const rest = found.filter((p) => !samePod(p, pod));
    if (rest.length === 0) this.byIp.delete(ip);
    else this.byIp.set(ip, rest.length === 1 ? rest[0]! : rest);
  }
}
