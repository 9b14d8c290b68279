/**
 * `flannel-win sim …`: tools for the simulated Windows host (a state file), for tests, the demo
 * and anyone trying flannel-win without Windows. Exit codes: 0 done, 1 the operation failed
 * (the message names the file, endpoint or field), 2 a usage error.
 * @module
 */
import { parseArgs } from 'node:util';
import { describeError, FlannelWinError } from '../errors.js';
import { addSimEndpoint, removeSimEndpoint } from './sim-endpoint-command.js';
import { simFlows } from './sim-flows-command.js';

export const SIM_USAGE = `Usage: flannel-win sim <command> [options]

Commands on a simulated Windows host (the file of --dataplane sim --sim-state):
  endpoint add     --sim-state FILE --ip IP [--name NAME] [--network NAME]
                   [--cluster-cidr CIDR] [--service-cidr CIDR]
                   add a local pod endpoint on the daemon's network, as the Windows CNI creates it
                   (OutBoundNAT, service route, provider address); prints the endpoint id
  endpoint remove  --sim-state FILE --ip IP [--name NAME] [--network NAME]
                   remove the local pod endpoint holding IP; prints its id
  flows            --sim-state FILE [--network NAME] [--protocol P] [--port N] [-o text|json]
                   who can talk to whom: for every pair of local pod endpoints (and from the
                   node), whether the ACLs programmed on them allow a connection to the port,
                   with the Id of the deciding rule (first match by Priority; default deny once
                   an endpoint holds any ACL; no ACL = allow)

Defaults: --sim-state .sim/host.json, --network the host's only Overlay or L2Bridge network,
--cluster-cidr 10.244.0.0/16, --service-cidr 10.96.0.0/12, --protocol tcp, --port 80, -o text.
Exit codes: 0 done, 1 the operation failed, 2 usage error.
`;

const OPTIONS = {
  'sim-state': { type: 'string', default: '.sim/host.json' },
  ip: { type: 'string' },
  name: { type: 'string' },
  network: { type: 'string' },
  'cluster-cidr': { type: 'string', default: '10.244.0.0/16' },
  'service-cidr': { type: 'string', default: '10.96.0.0/12' },
  output: { type: 'string', short: 'o', default: 'text' },
  protocol: { type: 'string', default: 'tcp' },
  port: { type: 'string', default: '80' },
  help: { type: 'boolean', short: 'h' },
} as const;

class SimUsageError extends Error {}

export interface SimCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: SimCommandIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

/** Runs one `sim` subcommand; `argv` is what follows `sim`. Returns the exit code. */
export async function runSimCommand(argv: readonly string[], io: SimCommandIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr(`flannel-win sim: ${describeError(err)}\n${SIM_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(SIM_USAGE);
    return 0;
  }
  const command = positionals.join(' ');
  try {
    const need = (flag: 'ip'): string => {
      const value = values[flag];
      if (value === undefined || value === '') throw new SimUsageError(`${command} needs --${flag}`);
      return value;
    };
    switch (command) {
      case 'endpoint add':
        io.stdout(`${await addSimEndpoint({ stateFile: values['sim-state'], ip: need('ip'), name: values.name, network: values.network, clusterCidr: values['cluster-cidr'], serviceCidr: values['service-cidr'] })}\n`);
        return 0;
      case 'endpoint remove':
        io.stdout(`${await removeSimEndpoint({ stateFile: values['sim-state'], ip: need('ip'), name: values.name, network: values.network })}\n`);
        return 0;
      case 'flows': {
        if (values.output !== 'text' && values.output !== 'json') throw new SimUsageError(`-o must be text or json, not "${values.output.slice(0, 32)}"`);
        io.stdout(await simFlows({ stateFile: values['sim-state'], network: values.network, output: values.output, protocol: values.protocol, port: values.port }));
        return 0;
      }
      default:
        throw new SimUsageError(command === '' ? 'a command is needed' : `unknown command "${command.slice(0, 64)}"`);
    }
  } catch (err) {
    if (err instanceof SimUsageError) {
      io.stderr(`flannel-win sim: ${err.message}\n${SIM_USAGE}`);
      return 2;
    }
    const context = err instanceof FlannelWinError ? ` ${JSON.stringify({ code: err.code, ...err.context })}` : '';
    io.stderr(`flannel-win sim ${command}: ${describeError(err)}${context}\n`);
    return 1;
  }
}
