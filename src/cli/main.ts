#!/usr/bin/env node
/** The `tgcall` executable. */
import { main } from './cli.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, interrupts: process });
// no process.exit(): the process ends once the call released its sockets, timers and handles
process.exitCode = code;
