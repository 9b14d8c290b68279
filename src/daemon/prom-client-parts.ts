/**
 * prom-client's metric classes and the process metrics the daemon exports, loaded file by file.
 * The package's entry point also loads every default metric (the CPU one pulls in
 * @opentelemetry/api for exemplars) and the Pushgateway with http and https. Measured with
 * `process.memoryUsage().rss` after three full collections in a fresh Node 24: the entry point
 * adds ~19 MiB, these parts ~6 MiB. The types still come from the package's own declarations.
 * @module
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const load = createRequire(import.meta.url);

/** One of prom-client's `lib/metrics/*` modules: registers its metrics on a registry. */
type ProcessMetric = (registry: PromClient.Registry, config: { eventLoopMonitoringPrecision?: number }) => void;

export const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;
export type Registry = PromClient.Registry;
export const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = load('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;

/** The default metrics the daemon keeps, in prom-client's own order, CPU time apart. */
const PROCESS_METRICS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

/**
 * Registers prom-client's default process metrics on `registry`, with prom-client's names and
 * help texts. CPU time is counted here rather than by prom-client's module, the one that loads
 * the tracing API for exemplars the daemon never records.
 */
export function registerProcessMetrics(registry: Registry, config: { eventLoopMonitoringPrecision: number }): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers: [registry],
    // One collect sets all three, as prom-client's own module does.
    collect() {
      const now = process.cpuUsage();
      const userSeconds = (now.user - last.user) / 1e6;
      const systemSeconds = (now.system - last.system) / 1e6;
      last = now;
      user.inc(userSeconds);
      system.inc(systemSeconds);
      total.inc(userSeconds + systemSeconds);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers: [registry] });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers: [registry] });
  for (const name of PROCESS_METRICS) (load(`prom-client/lib/metrics/${name}`) as ProcessMetric)(registry, config);
}
