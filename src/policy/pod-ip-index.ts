/**
 * Which pods hold an IPv4 address: the index behind "who is 10.244.1.5?" questions (`explain`
 * over the health server). Two pods can hold one address for a while (a finished pod and the
 * new pod given its address), so an address maps to every pod that lists it; the reader decides.
 */

/** A pod key (`namespace/name`) per IPv4 address (unsigned 32-bit), kept by upsert and removal. */
export class PodIpIndex {
  /** One key is the common case; an array only while pods share the address. */
  private readonly byIp = new Map<number, string | string[]>();

  /** Replaces the addresses recorded for `key`: `before` are dropped, `after` added. */
  update(key: string, before: readonly number[], after: readonly number[]): void {
    for (const ip of before) if (!after.includes(ip)) this.remove(ip, key);
    for (const ip of after) if (!before.includes(ip)) this.add(ip, key);
  }

  /** The keys of the pods listing `ip`, in no particular order. */
  keysAt(ip: number): readonly string[] {
    const found = this.byIp.get(ip);
    return found === undefined ? [] : typeof found === 'string' ? [found] : found;
  }

  private add(ip: number, key: string): void {
    const found = this.byIp.get(ip);
    if (found === undefined) this.byIp.set(ip, key);
    else if (typeof found === 'string') {
      if (found !== key) this.byIp.set(ip, [found, key]);
    } else if (!found.includes(key)) found.push(key);
  }

  private remove(ip: number, key: string): void {
    const found = this.byIp.get(ip);
    if (found === undefined) return;
    if (typeof found === 'string') {
      if (found === key) this.byIp.delete(ip);
      return;
    }
    const rest = found.filter((k) => k !== key);
    this.byIp.set(ip, rest.length === 1 ? rest[0]! : rest);
  }
}
