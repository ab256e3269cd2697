#!/usr/bin/env node
import { runCli } from '../dist/index.js';

process.exitCode = await runCli(process.argv.slice(2));
// The command is over: whatever is still pending (a node forced down by a second signal, its
// timers) must not keep the process alive. Unreferenced, so a clean exit is not delayed.
setTimeout(() => process.exit(), 1_000).unref();
