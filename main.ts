#!/usr/bin/env node
// The published entry (dist/main.js, the `flannel-win` bin). Everything lives in src/cli, which
// is loaded only after the Node.js version check: on an older Node its imports fail obscurely.
import { nodeVersionProblem } from './src/cli/node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  // The JSON logger is not loaded yet; this line has the same shape.
  process.stderr.write(`${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), app: 'flannel-win', code: 'NODE_VERSION', msg: problem })}\n`);
  process.exitCode = 1;
} else {
  const { runCli } = await import('./src/cli/run-cli.js');
  process.exitCode = await runCli(process.argv.slice(2), process.env);
}
