import { HnsError, type HnsClient } from './client.js';

/** The figures an instrumented HNS client reports (DaemonMetrics provides them). */
export interface HnsCallMetrics {
  hnsCalls: { inc(labels: { operation: string; result: 'ok' | 'error' }): void };
  hnsCallSeconds: { observe(labels: { operation: string }, seconds: number): void };
  hnsErrors: { inc(labels: { operation: string; hresult: string }): void };
}

type Operation = keyof HnsClient;

const OPERATIONS: readonly Operation[] = [
  'listNetworks',
  'getNetwork',
  'getNetworkByName',
  'createNetwork',
  'modifyNetwork',
  'deleteNetwork',
  'listEndpoints',
  'getEndpoint',
  'createEndpoint',
  'modifyEndpoint',
  'deleteEndpoint',
  'attachEndpointToHost',
];

/** "0x803b0001" for an HnsError, "none" for anything else (a koffi failure, a bug). */
function hresultLabel(err: unknown): string {
  return err instanceof HnsError ? `0x${err.hresult.toString(16).padStart(8, '0')}` : 'none';
}

/**
 * Wraps an HnsClient so every call is counted, timed and, when it fails, counted by HRESULT.
 * The daemon opens its dataplane through this once; nothing else knows calls are measured.
 */
export function instrumentHnsClient(inner: HnsClient, metrics: HnsCallMetrics, now: () => number = () => performance.now()): HnsClient {
  const wrapped: Partial<Record<Operation, unknown>> = {};
  for (const operation of OPERATIONS) {
    const call = inner[operation] as (...args: unknown[]) => Promise<unknown>;
    wrapped[operation] = async (...args: unknown[]): Promise<unknown> => {
      const started = now();
      try {
        const result = await call.apply(inner, args);
        metrics.hnsCalls.inc({ operation, result: 'ok' });
        return result;
      } catch (err) {
        metrics.hnsCalls.inc({ operation, result: 'error' });
        metrics.hnsErrors.inc({ operation, hresult: hresultLabel(err) });
        throw err;
      } finally {
        metrics.hnsCallSeconds.observe({ operation }, (now() - started) / 1000);
      }
    };
  }
  return wrapped as HnsClient;
}
