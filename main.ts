#!/usr/bin/env node
// The published entry (dist/main.js, the `flannel-win` bin). Everything lives in src/cli.
import { runCli } from './src/cli/run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), process.env);
