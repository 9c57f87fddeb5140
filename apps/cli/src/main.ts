#!/usr/bin/env node
// `isle`: the command-line client of Isle's management API (docs/adr/0022-cli.md).
import { run } from "./program.js";

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  fetch: globalThis.fetch,
});
// Let stdout drain into a pipe before leaving; exitCode rather than exit() for that reason.
process.exitCode = code;
