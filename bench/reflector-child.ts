/**
 * A FakeReflector in its own process for bench/call.ts, so the CPU the benchmark measures is the
 * call legs' own (Telegram's reflector runs elsewhere too). Prints `{"port":…}` once listening,
 * then its CPU use (`{"cpuMs":…}`) and exits when stdin closes.
 */
import { FakeReflector } from '../src/fake/index.js';

const reflector = await FakeReflector.start({ host: '127.0.0.1', tcp: false });
// From here on: the forwarding, not tsx's start-up.
const base = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ port: reflector.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  const cpu = process.cpuUsage(base);
  process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, forwarded: reflector.counters.forwarded })}\n`);
  void reflector.close().then(() => process.exit(0));
});
