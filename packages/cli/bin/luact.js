#!/usr/bin/env node
import { runCli } from '../dist/index.js';

// A command whose work can never finish would otherwise end with Node's status 13 ("unsettled
// top-level await") and no word: say so and exit 1 instead.
let settled = false;
process.on('exit', () => {
  if (settled) return;
  process.stderr.write(
    'luact: internal error: the command stopped with its work unfinished and nothing left that could finish it\n',
  );
  process.exitCode = 1;
});

process.exitCode = await runCli(process.argv.slice(2)).finally(() => {
  settled = true;
});
// The command is over: whatever is still pending (a node forced down by a second signal, its
// timers) must not keep the process alive. Unreferenced, so a clean exit is not delayed.
setTimeout(() => process.exit(), 1_000).unref();
