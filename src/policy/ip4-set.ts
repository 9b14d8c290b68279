/**
 * Sets of IPv4 addresses as sorted, disjoint, non-adjacent inclusive ranges. HNS has no
 * negation, so an ipBlock's `except` is subtracted here; and the result is written back as the
 * fewest CIDRs that cover exactly the same addresses (adjacent pod IPs fold into one CIDR).
 */
import { formatIp4, ip4NetSize, type Ip4Net } from '../net/ip.js';

/** An inclusive range of IPv4 addresses as unsigned 32-bit numbers. */
export interface Ip4Range {
  readonly first: number;
  readonly last: number;
}

/** The range a (masked) network covers. */
export function netRange(net: Ip4Net): Ip4Range {
  return { first: net.ip, last: net.ip + ip4NetSize(net) - 1 };
}

/** Sorts and merges overlapping or adjacent ranges. */
export function normalizeRanges(ranges: readonly Ip4Range[]): Ip4Range[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const out: Ip4Range[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.first <= prev.last + 1) {
      if (r.last > prev.last) out[out.length - 1] = { first: prev.first, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** `from` minus `remove`; both normalised, so is the result. */
export function subtractRanges(from: readonly Ip4Range[], remove: readonly Ip4Range[]): Ip4Range[] {
  const out: Ip4Range[] = [];
  let j = 0;
  for (const r of from) {
    let first = r.first;
    while (j < remove.length && remove[j]!.last < first) j++;
    let k = j;
    while (k < remove.length && remove[k]!.first <= r.last) {
      const cut = remove[k]!;
      if (cut.first > first) out.push({ first, last: cut.first - 1 });
      first = Math.max(first, cut.last + 1);
      k++;
    }
    if (first <= r.last) out.push({ first, last: r.last });
  }
  return out;
}

/** True when `ip` is in the normalised `ranges`. */
export function rangesContain(ranges: readonly Ip4Range[], ip: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (ip < r.first) hi = mid - 1;
    else if (ip > r.last) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The fewest CIDRs covering exactly the normalised `ranges`, in address order, as HNS text: a
 * single address as `a.b.c.d/32`, so every entry reads the same way.
 */
export function rangesToCidrs(ranges: readonly Ip4Range[]): string[] {
  const out: string[] = [];
  for (const r of ranges) {
    let first = r.first;
    while (first <= r.last) {
      // The largest block aligned at `first` that stays inside the range.
      let size = first === 0 ? 2 ** 32 : 2 ** Math.min(32, countTrailingZeros(first));
      while (first + size - 1 > r.last) size /= 2;
      out.push(`${formatIp4(first)}/${32 - Math.log2(size)}`);
      first += size;
    }
  }
  return out;
}

function countTrailingZeros(n: number): number {
  let count = 0;
  while (count < 32 && n % 2 === 0) {
    n /= 2;
    count++;
  }
  return count;
}
