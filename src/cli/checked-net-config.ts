import { sleep } from '../async/abortable-sleep.js';
import type { NetConfig } from '../config/net-config.js';
import { NetConfigError } from '../config/parse-net-config.js';
import { describeError, FlannelWinError } from '../errors.js';
import type { SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { preflightNetConfig } from './net-conf-preflight.js';

/**
 * What to do with a net-conf.json that fails the pre-flight checks:
 * - `fail`: it is read once and cannot change under us (kube mode's mounted file, the local
 *   lease file): report it and exit 1, as flanneld does. A file that cannot be read is waited
 *   for `graceMs` first (a ConfigMap volume can lag the container start), then it is fatal too.
 * - `wait`: someone may fix it while we run (etcd's `<prefix>/config`, which flanneld re-reads
 *   every second): keep re-reading it every `pollMs`, warn once, then only at debug level.
 */
export type NetConfigPolicy = { mode: 'fail'; graceMs: number } | { mode: 'wait'; pollMs?: number };

export interface CheckedNetConfigOptions {
  policy: NetConfigPolicy;
  /** The document's name in messages: the file path or the etcd key. */
  source: string;
  log: Logger;
  /** Wall clock in ms; tests pass a fake. */
  now?: () => number;
}

/**
 * Returns a SubnetManager whose `getNetworkConfig` only ever resolves with a config that passes
 * `preflightNetConfig`, and otherwise behaves as `policy` says. Every other member is the
 * inner manager's own, bound to it (a Proxy rather than a hand-written delegate, so that a
 * member added to SubnetManager later is never silently dropped, and `#private` fields work).
 */
export function withCheckedNetConfig<T extends SubnetManager>(inner: T, options: CheckedNetConfigOptions): T {
  const getChecked = options.policy.mode === 'fail' ? failFast(inner, options, options.policy.graceMs) : waitUntilUsable(inner, options, options.policy.pollMs ?? 1000);
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'getNetworkConfig') return getChecked;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * kube mode could not read the file at all (missing, a directory, no permission), as opposed to
 * reading bad content, which is a NetConfigError and fatal at once.
 */
function isUnreadable(err: unknown): boolean {
  return err instanceof FlannelWinError && err.code === 'KUBE_NET_CONFIG';
}

function failFast(inner: SubnetManager, options: CheckedNetConfigOptions, graceMs: number): (signal: AbortSignal) => Promise<NetConfig> {
  const now = options.now ?? Date.now;
  return async (signal) => {
    const started = now();
    let warned = false;
    for (;;) {
      signal.throwIfAborted();
      let config: NetConfig;
      try {
        config = await inner.getNetworkConfig(signal);
      } catch (err) {
        if (!isUnreadable(err) || signal.aborted) throw err;
        const waited = now() - started;
        if (waited >= graceMs) {
          throw new NetConfigError(`${options.source}: cannot read the network configuration after waiting ${Math.round(waited / 1000)} s (--net-config-grace-period): ${describeError(err)}`, {
            source: options.source,
            graceSeconds: graceMs / 1000,
          });
        }
        if (!warned) {
          options.log.warn({ source: options.source, err: describeError(err), graceSeconds: graceMs / 1000 }, 'cannot read net-conf.json yet; waiting for it before giving up');
          warned = true;
        }
        await sleep(Math.min(500, graceMs - waited), signal);
        continue;
      }
      preflightNetConfig(config, options.source);
      return config;
    }
  };
}

function waitUntilUsable(inner: SubnetManager, options: CheckedNetConfigOptions, pollMs: number): (signal: AbortSignal) => Promise<NetConfig> {
  let warned = false;
  return async (signal) => {
    for (;;) {
      signal.throwIfAborted();
      const config = await inner.getNetworkConfig(signal);
      try {
        preflightNetConfig(config, options.source);
        if (warned) options.log.info({ source: options.source }, 'the network configuration is usable now');
        warned = false;
        return config;
      } catch (err) {
        if (!(err instanceof NetConfigError)) throw err;
        const context = { source: options.source, field: err.context['field'], value: err.context['value'], err: err.message };
        if (!warned) {
          options.log.warn(context, `the network configuration cannot work on this node: ${err.message}; re-reading it every ${pollMs / 1000} s until it is fixed (further failures are logged at debug level)`);
          warned = true;
        } else {
          options.log.debug(context, 'the network configuration still cannot work on this node');
        }
        await sleep(pollMs, signal);
      }
    }
  };
}
