#!/usr/bin/env node
/**
 * Runs a command while CPU hogs keep every core busy (issue 15: the suite must stay green on a
 * loaded machine). `npm run test:loaded` runs the README's test command this way.
 *
 *   node test/tools/under-load.mjs [--hogs N] [--minutes M] [-- command args…]
 *
 * N busy-looping processes (default: one per core) run until the command exits, or M minutes
 * (default 45) have passed — each hog stops by itself then, so nothing outlives a killed parent.
 * Exits with the command's exit code.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split < 0 ? argv : argv.slice(0, split);
const command = split < 0 ? ['npm', 'test'] : argv.slice(split + 1);
const option = (name, fallback) => {
  const i = own.indexOf(name);
  const value = i < 0 ? fallback : Number(own[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
};
const hogs = option('--hogs', availableParallelism());
const minutes = option('--minutes', 45);

// Busy until its deadline; a hog checks the clock every ~1 ms of work.
const HOG = `const end = Date.now() + ${Math.round(minutes * 60_000)}; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e5; i++) x += i; }`;
const children = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
const stopHogs = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

console.error(`under-load: ${hogs} CPU hog(s) for at most ${minutes} min while running: ${command.join(' ')}`);
const run = spawn(command[0], command.slice(1), { stdio: 'inherit' });
run.on('exit', (code, signal) => {
  stopHogs();
  process.exit(code ?? (signal ? 1 : 0));
});
