#!/usr/bin/env node
// Entry point of the `torchxfer` command: runs the compiled CLI.
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`torchxfer: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
