import { readFileSync } from 'node:fs';
import { parseFlags, usageText, type DaemonFlags } from '../config/flags.js';
import { UsageError } from '../config/usage-error.js';
import { cniSetupFromFlags } from '../cni/cni-setup-from-flags.js';
import { Daemon } from '../daemon/daemon.js';
import { DaemonMetrics } from '../daemon/metrics.js';
import { describeError, FlannelWinError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { simFaultSettings } from '../sim/fault-flags.js';
import { openDataplane } from './dataplane.js';
import { openSubnetManager } from './subnet-manager-choice.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

/**
 * flanneld's main, returning the exit code: 0 after a signal, 1 when start-up fails (as
 * flanneld), 2 for a usage error (as Go's flag package).
 */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): Promise<number> {
  if (argv[0] === 'sim') return (await import('./sim-command.js')).runSimCommand(argv.slice(1));
  let flags: DaemonFlags;
  try {
    flags = parseFlags([...argv], { ...env }, platform);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`flannel-win: ${err.message}\n${err.showUsage ? usageText() : ''}`);
      return err.exitCode;
    }
    throw err;
  }
  if (flags.help) {
    process.stdout.write(usageText());
    return 0;
  }
  if (flags.version) {
    // flanneld prints its version to stderr.
    process.stderr.write(`${packageVersion()}\n`);
    return 0;
  }
  const log = createLogger({ level: flags.logLevel });
  try {
    return await runDaemon(flags, env, platform, log);
  } catch (err) {
    const context = err instanceof FlannelWinError ? { code: err.code, ...err.context } : {};
    log.fatal({ ...context, err: describeError(err) }, `flannel-win failed to start: ${describeError(err)}`);
    log.flush?.();
    return 1;
  }
}

async function runDaemon(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, log: Logger): Promise<number> {
  log.info({ version: packageVersion(), pid: process.pid, platform }, 'flannel-win starting');
  for (const name of flags.ignoredOnWindows) log.warn({ flag: name }, `--${name} has no effect on Windows; ignored`);
  const cni = cniSetupFromFlags(flags, log);
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log.info({ signal: sig }, 'signal received; shutting down (the lease and the dataplane stay in place)');
    controller.abort(new FlannelWinError('SHUTDOWN', `received ${sig}`, {}));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dataplane = await openDataplane({
    choice: flags.dataplane,
    platform,
    simState: flags.simState,
    simHnsLatencyMs: flags.simHnsLatencyMs,
    sim: simFaultSettings({ faultRate: flags.simFaultRate, faultOperations: flags.simFaultOps, failNext: flags.simFailNext, faultHresult: flags.simFaultHresult }, flags.simSeed, flags.setFrom['sim-seed'] !== undefined),
    publicIp: flags.publicIp || undefined,
    log: log.child({ component: 'dataplane' }),
  });
  try {
    const subnetManager = await openSubnetManager(flags, env, log);
    const daemon = new Daemon({
      options: {
        subnetFile: flags.subnetFile,
        ipMasq: flags.ipMasq,
        iface: flags.iface,
        ifaceRegex: flags.ifaceRegex,
        ifaceCanReach: flags.ifaceCanReach || undefined,
        publicIp: flags.publicIp || undefined,
        healthz: flags.healthzPort > 0 ? { host: flags.healthzIp, port: flags.healthzPort } : undefined,
        resyncIntervalMs: flags.resyncInterval * 1000,
        serveMetrics: flags.metrics,
        cni,
      },
      log,
      hns: dataplane.hns,
      routes: dataplane.routes,
      subnetManager,
      metrics: new DaemonMetrics(),
      // The CNI config is written once the node can network pods; readiness waits for it.
      convergedTasks: cni ? [cni] : [],
    });
    await daemon.run(controller.signal);
    log.info('flannel-win stopped');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await dataplane.close().catch((err: unknown) => log.warn({ err: describeError(err) }, 'closing the dataplane failed'));
    log.flush?.();
  }
}
