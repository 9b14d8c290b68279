import { readBuildInfo, versionText } from '../build-info.js';
import { parseFlags, usageText, type DaemonFlags } from '../config/flags.js';
import { UsageError } from '../config/usage-error.js';
import { cniSetupFromFlags } from '../cni/cni-setup-from-flags.js';
import { Daemon } from '../daemon/daemon.js';
import { DaemonMetrics } from '../daemon/metrics.js';
import { describeError, FlannelWinError } from '../errors.js';
import { createLogger, routeProcessWarnings, type Logger } from '../log.js';
import { simFaultSettings } from '../sim/fault-flags.js';
import { openDataplane } from './dataplane.js';
import { openPolicyControllers } from './policy-controller-choice.js';
import { checkSimulatedDataplaneStore } from './sim-store-guard.js';
import { openSubnetManager } from './subnet-manager-choice.js';

/**
 * flanneld's main, returning the exit code: 0 after a signal, at any moment (a pod being
 * deleted while it starts must not look like a crash), 1 when start-up fails for good (as
 * flanneld), 2 for a usage error (as Go's flag package).
 */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  if (argv[0] === 'sim') return (await import('./sim-command.js')).runSimCommand(argv.slice(1));
  const io = { stdout: (t: string) => void process.stdout.write(t), stderr: (t: string) => void process.stderr.write(t) };
  if (argv[0] === 'status') return (await import('./status-command.js')).runStatusCommand(argv.slice(1), env, io);
  if (argv[0] === 'plan') return (await import('./plan-command.js')).runPlanCommand(argv.slice(1), env, platform, io);
  if (argv[0] === 'support-bundle') return (await import('./support-bundle-command.js')).runSupportBundleCommand(argv.slice(1), env, platform, io);
  if (argv[0] === 'explain') return (await import('./explain-command.js')).runExplainCommand(argv.slice(1), env, platform, io);
  // Installed first: from here on SIGINT/SIGTERM abort start-up instead of killing the process.
  const controller = new AbortController();
  let log: Logger | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log?.info({ signal: sig }, 'signal received; shutting down (the lease and the dataplane stay in place)');
    controller.abort(new FlannelWinError('SHUTDOWN', `received ${sig}`, { signal: sig }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
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
      process.stderr.write(await versionText());
      return 0;
    }
    log = createLogger({ level: flags.logLevel, format: flags.logFormat });
    routeProcessWarnings(log);
    try {
      const outcome = await Promise.race([runDaemon(flags, env, platform, log, controller.signal), deadlineAfterAbort(controller.signal, SHUTDOWN_DEADLINE_MS)]);
      if (outcome === 'deadline') {
        // A store call that ignores the signal (an etcd request to a host that never answers
        // has a 10 s deadline, retried) must not turn a pod deletion into a SIGKILL.
        log.warn({ deadlineSeconds: SHUTDOWN_DEADLINE_MS / 1000 }, 'shutdown did not finish within the deadline after the signal; exiting 0 now (the lease and the dataplane stay in place)');
        log.flush?.();
        exit(0);
        return 0;
      }
      return outcome;
    } catch (err) {
      if (controller.signal.aborted) {
        log.info({ signal: (controller.signal.reason as FlannelWinError).context['signal'], interrupted: describeError(err) }, 'stopped by the signal during start-up; exiting 0');
        return 0;
      }
      const context = err instanceof FlannelWinError ? { code: err.code, ...err.context } : {};
      log.fatal({ ...context, err: describeError(err) }, `flannel-win failed to start: ${describeError(err)}`);
      return 1;
    } finally {
      log.flush?.();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** How long start-up or shutdown may take to stop after SIGINT/SIGTERM before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Resolves `deadline` `ms` after `signal` aborts; never when it does not (the timer holds nothing alive). */
function deadlineAfterAbort(signal: AbortSignal, ms: number): Promise<'deadline'> {
  return new Promise((resolve) => {
    const arm = () => setTimeout(() => resolve('deadline'), ms).unref();
    if (signal.aborted) arm();
    else signal.addEventListener('abort', arm, { once: true });
  });
}

async function runDaemon(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, log: Logger, signal: AbortSignal): Promise<number> {
  const build = readBuildInfo();
  log.info({ version: build.version, commit: build.commit, pid: process.pid, platform, node: process.versions.node }, 'flannel-win starting');
  for (const name of flags.ignoredOnWindows) log.warn({ flag: name }, `--${name} has no effect on Windows; ignored`);
  const cni = cniSetupFromFlags(flags, log);
  const simWarning = checkSimulatedDataplaneStore(flags, platform);
  if (simWarning !== undefined) log.warn({ dataplane: flags.dataplane }, simWarning);
  const metrics = new DaemonMetrics({ build });
  const dataplane = await openDataplane({
    choice: flags.dataplane,
    platform,
    simState: flags.simState,
    simHnsLatencyMs: flags.simHnsLatencyMs,
    sim: simFaultSettings({ faultRate: flags.simFaultRate, faultOperations: flags.simFaultOps, failNext: flags.simFailNext, faultHresult: flags.simFaultHresult }, flags.simSeed, flags.setFrom['sim-seed'] !== undefined),
    publicIp: flags.publicIp || undefined,
    log: log.child({ component: 'dataplane' }),
    metrics,
  });
  try {
    signal.throwIfAborted();
    // flanneld's default --healthz-ip 0.0.0.0 keeps /healthz and /readyz reachable for probes;
    // /status (lease, peers, addresses) and /metrics are ours and stay on loopback unless the
    // operator chose an address.
    const detailFromLoopbackOnly = flags.healthzPort > 0 && flags.setFrom['healthz-ip'] === undefined;
    if (detailFromLoopbackOnly) log.info({ healthzIp: flags.healthzIp }, '/status, /metrics and /policy/flow answer loopback clients only (no explicit --healthz-ip)');
    // From here the daemon owns the subnet manager and closes it, even when already aborted.
    const subnetManager = await openSubnetManager(flags, env, log);
    const extra = await openPolicyControllers(flags, env, log).catch(async (err: unknown) => {
      await subnetManager.close().catch(() => undefined);
      throw err;
    });
    const daemon = new Daemon({
      options: {
        subnetFile: flags.subnetFile,
        ipMasq: flags.ipMasq,
        iface: flags.iface,
        ifaceRegex: flags.ifaceRegex,
        ifaceCanReach: flags.ifaceCanReach || undefined,
        publicIp: flags.publicIp || undefined,
        healthz: flags.healthzPort > 0 ? { host: flags.healthzIp, port: flags.healthzPort, detailFromLoopbackOnly } : undefined,
        resyncIntervalMs: flags.resyncInterval * 1000,
        serveMetrics: flags.metrics,
        cni,
        build,
      },
      log,
      hns: dataplane.hns,
      routes: dataplane.routes,
      subnetManager,
      metrics,
      // After the peer controller; the CNI config (a converged task) waits for them all.
      controllers: extra.factories,
      // The CNI config is written once the node can network pods; readiness waits for it.
      convergedTasks: cni ? [cni] : [],
    });
    try {
      await daemon.run(signal);
    } finally {
      extra.close();
    }
    log.info('flannel-win stopped');
    return 0;
  } finally {
    await dataplane.close().catch((err: unknown) => log.warn({ err: describeError(err) }, 'closing the dataplane failed'));
  }
}
