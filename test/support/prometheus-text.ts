/** One metric family of the Prometheus text exposition format. */
export interface MetricFamily {
  name: string;
  type: string | undefined;
  help: string | undefined;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the text exposition format (version 0.0.4) into families. A sample belongs to the
 * family whose # TYPE came last and whose name it extends (_bucket, _sum, _count); a line that
 * fits nothing throws, so a malformed scrape fails the test.
 */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: undefined, help: undefined, samples: [] }));
    return f;
  };
  let current: MetricFamily | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'HELP') f.help = meta[3];
      else f.type = meta[3];
      current = f;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const owner = current && (name === current.name || /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === current.name) ? current : family(name);
    owner.samples.push({ name, labels, value: Number(m[3]) });
  }
  return families;
}

/**
 * Prometheus naming conventions (prometheus.io/docs/practices/naming) for one family: the
 * problems found, empty when it follows them.
 */
export function namingProblems(f: MetricFamily): string[] {
  const problems: string[] = [];
  const n = f.name;
  if (!/^[a-z_:][a-z0-9_:]*$/.test(n)) problems.push('name is not snake_case');
  if (f.type === undefined) problems.push('no # TYPE');
  if (f.help === undefined || f.help === '') problems.push('no # HELP');
  if (f.type === 'counter' && !n.endsWith('_total')) problems.push('a counter must end in _total');
  if (f.type !== 'counter' && n.endsWith('_total')) problems.push(`a ${f.type} must not end in _total`);
  // Base units only.
  if (/_(milliseconds|microseconds|nanoseconds|ms|us|minutes|hours|days)(_|$)/.test(n)) problems.push('time must be in _seconds');
  if (/_(kilobytes|megabytes|gigabytes|kb|mb|gb|bits)(_|$)/.test(n)) problems.push('size must be in _bytes');
  if (/_percent(_|$)/.test(n)) problems.push('a ratio is 0..1 (_ratio), not percent');
  // A unit, when present, is the last word before _total / the type's suffixes.
  const base = n.replace(/_total$/, '');
  if (/(duration|latency|lag|time|age|uptime)/.test(base) && !/_seconds$/.test(base) && !base.endsWith('_info')) problems.push('a time must end in _seconds');
  if (/(memory|heap|size)/.test(base) && !/_bytes$/.test(base)) problems.push('a size must end in _bytes');
  if (/timestamp/.test(base) && !base.endsWith('_timestamp_seconds')) problems.push('a timestamp must end in _timestamp_seconds');
  if (f.type === 'histogram' && !/_(seconds|bytes)$/.test(n)) problems.push('a histogram must carry its unit (_seconds or _bytes)');
  if (n.endsWith('_info') && (f.type !== 'gauge' || f.samples.some((s) => s.value !== 1))) problems.push('an _info metric is a gauge of value 1');
  for (const s of f.samples) {
    for (const label of Object.keys(s.labels)) if (!/^[a-z_][a-z0-9_]*$/.test(label)) problems.push(`label ${label} is not snake_case`);
    if (f.type === 'histogram' && !/_(bucket|sum|count)$/.test(s.name)) problems.push(`histogram sample ${s.name} is not _bucket/_sum/_count`);
  }
  return [...new Set(problems)];
}
