export { type CliIO, ExitCode, processIO } from './io.js';
export { runCli } from './program.js';
