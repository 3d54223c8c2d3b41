/**
 * Full call legs (`npx tsx bench/call.ts [--quick]`): tgcall calling tgcall on loopback through
 * the fake Telegram — real DH, encrypted signaling, libdatachannel ICE/DTLS-SRTP, Opus both ways,
 * precomputed audio (a tone computed once, so the figures are the library's). Each row runs in
 * fresh processes (bench/call-child.ts):
 * - one leg per process: two processes, one leg each, the fake Telegram served from here;
 * - N calls with both legs in one process.
 * Each row over two paths (issue 12): `host` (p2p allowed, direct on loopback) and `reflector`
 * (p2p off, the call's only server a fake Telegram reflector in its own process,
 * bench/reflector-child.ts, so its CPU is not counted against the legs; printed apart).
 * Prints, per row: CPU per leg-second and the codec-only cost measured in the same process (and
 * their ratio), per-thread CPU, loss, frame-timer lateness p99, RSS per leg; asserts nothing.
 * `--codec-workers 0,2`: each row with the Opus encoders on the JavaScript thread and in 2 worker
 * threads (`codecWorkers`; by default the rows of 10 calls and more run both): compare the JS
 * thread's CPU with the whole process's, and loss and timer lateness, between the two.
 * Diagnostics: `BENCH_NODE_ARGS` is passed to every child's node, `BENCH_THREADS=1` prints each
 * child's CPU by thread, `BENCH_PROFILE=<dir>` writes a CPU profile of each measured window,
 * `BENCH_JSON=1` also prints the rows as one JSON line (for scripts that alternate runs).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeTelegram } from '../src/fake/index.js';
import type { ChildReport, ChildTask } from './call-child.js';
import { pathSettings, type PathKind } from './call-paths.js';
import { median } from './measure.js';
import { serveFakeClient, type BridgePort } from './mtproto-bridge.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, seconds: { type: 'string' }, calls: { type: 'string' }, warmup: { type: 'string' }, paths: { type: 'string' }, 'codec-workers': { type: 'string' } },
  strict: false,
});
const quick = args.quick === true;
const CHILD = fileURLToPath(new URL('./call-child.ts', import.meta.url));

function startChild(): { child: ChildProcess; port: BridgePort; report: Promise<ChildReport> } {
  const child = fork(CHILD, [], { serialization: 'advanced', execArgv: [...process.execArgv, '--expose-gc', ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port: BridgePort = {
    send: (m) => child.send(m as never),
    onMessage: (listener) => {
      child.on('message', listener);
      return () => child.off('message', listener);
    },
  };
  const report = new Promise<ChildReport>((resolve, reject) => {
    port.onMessage((m) => {
      if ((m as { k?: unknown }).k === 'report') resolve(m as ChildReport);
    });
    child.once('exit', (code) => reject(new Error(`benchmark child exited with ${code} before reporting`)));
  });
  return { child, port, report };
}

function waitFor(port: BridgePort, k: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = port.onMessage((m) => {
      if ((m as { k?: unknown }).k !== k) return;
      stop();
      resolve();
    });
  });
}

/** The reflector child: its port, and a stop() that reports its CPU and the packets it forwarded. */
interface ReflectorChild {
  readonly port: number;
  stop(): Promise<{ cpuMs: number; forwarded: number }>;
}

async function startReflectorChild(): Promise<ReflectorChild> {
  const script = fileURLToPath(new URL('./reflector-child.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const kill = setTimeout(() => child.kill('SIGKILL'), 1_800_000);
  const first = await lines.next();
  if (first.done) throw new Error('reflector child exited before listening');
  const { port } = JSON.parse(first.value as string) as { port: number };
  return {
    port,
    async stop() {
      child.stdin!.end();
      const last = await lines.next();
      clearTimeout(kill);
      return last.done ? { cpuMs: NaN, forwarded: NaN } : (JSON.parse(last.value as string) as { cpuMs: number; forwarded: number });
    },
  };
}

async function pairsRow(calls: number, seconds: number, warmup: number, seed: number, path: PathKind, reflectorPort: number | undefined, codecWorkers: number): Promise<ChildReport[]> {
  const { child, report } = startChild();
  child.send({ mode: 'pairs', calls, seconds, warmup, seed, path, codecWorkers, ...(reflectorPort !== undefined ? { reflectorPort } : {}) } satisfies ChildTask);
  return [await report];
}

async function legPerProcessRow(seconds: number, warmup: number, path: PathKind, reflectorPort: number | undefined, codecWorkers: number): Promise<ChildReport[]> {
  const telegram = new FakeTelegram({ seed: 42, ...pathSettings(path, reflectorPort) });
  const ids = [20_001n, 20_002n] as const;
  const legs = ids.map((self, i) => {
    const c = startChild();
    const stopServing = serveFakeClient(c.port, telegram.createClient(self, `leg${i}`));
    return { ...c, stopServing };
  });
  try {
    const ready = legs.map((l) => waitFor(l.port, 'ready'));
    const measured = legs.map((l) => waitFor(l.port, 'measured'));
    legs[0]!.child.send({ mode: 'leg', role: 'callee', self: ids[0], peer: ids[1], seconds, warmup, codecWorkers } satisfies ChildTask);
    legs[1]!.child.send({ mode: 'leg', role: 'caller', self: ids[1], peer: ids[0], seconds, warmup, codecWorkers } satisfies ChildTask);
    await Promise.all(ready);
    for (const l of legs) l.child.send({ k: 'go' });
    await Promise.all(measured);
    for (const l of legs) l.child.send({ k: 'stop' });
    return await Promise.all(legs.map((l) => l.report));
  } finally {
    for (const l of legs) l.stopServing();
    await telegram.close();
  }
}

interface Row {
  readonly path: PathKind;
  readonly label: string;
  readonly codecWorkers: number;
  readonly legs: number;
  readonly reports: readonly ChildReport[];
}

function perLegSecond(r: ChildReport, ms: (w: NonNullable<ChildReport['window']>) => number): number {
  const w = r.window;
  return w && r.legs > 0 ? ms(w) / (w.wallMs / 1000) / r.legs : NaN;
}

type Table = Record<string, string | number>[];

function format(rows: readonly Row[]): { main: Table; threads: Table; memory: Table } {
  const main: Table = [];
  const threads: Table = [];
  const memory: Table = [];
  for (const { path, label, codecWorkers, legs, reports } of rows) {
    const each = (f: (r: ChildReport) => number): number => median(reports.map(f));
    const cpu = each((r) => perLegSecond(r, (w) => w.cpuMs));
    const codec = each((r) => r.codecMs);
    let packets = 0;
    let lost = 0;
    let sent = 0;
    let skipped = 0;
    for (const r of reports) {
      packets += r.window?.packets ?? 0;
      lost += r.window?.lost ?? 0;
      sent += r.window?.sent ?? 0;
      skipped += r.window?.skipped ?? 0;
    }
    const perLeg = (f: (w: NonNullable<ChildReport['window']>, r: ChildReport) => number): number =>
      Number(each((r) => (r.window && r.legs > 0 ? f(r.window, r) / r.legs / 1e6 : NaN)).toFixed(2));
    main.push({
      path,
      row: label,
      'codec workers': codecWorkers,
      legs,
      failed: reports.reduce((a, r) => a + r.failed, 0),
      'setup ms': Math.round(median(reports.flatMap((r) => r.setupMs))),
      'ICE+DTLS ms': Math.round(median(reports.flatMap((r) => r.iceDtlsMs))),
      'CPU ms/leg-s': Number(cpu.toFixed(1)),
      'codec ms/leg-s': Number(codec.toFixed(1)),
      'CPU / codec': Number((cpu / codec).toFixed(2)),
      'loss %': Number(((100 * lost) / Math.max(1, packets + lost)).toFixed(2)),
      'skipped %': Number(((100 * skipped) / Math.max(1, sent + skipped)).toFixed(2)),
      'timer late p99 ms': each((r) => r.window?.latenessP99Ms ?? NaN),
      'RSS MB/leg': perLeg((w, r) => w.rss - r.base.rss),
    });
    memory.push({
      path,
      row: label,
      'RSS MB/leg': perLeg((w, r) => w.rss - r.base.rss),
      'JS heap MB/leg': perLeg((w, r) => w.heapUsed - r.base.heapUsed),
      'external MB/leg': perLeg((w, r) => w.external - r.base.external),
      'RSS MB/process': Number(each((r) => (r.window?.rss ?? NaN) / 1e6).toFixed(0)),
      'RSS MB/process without calls': Number(each((r) => r.base.rss / 1e6).toFixed(0)),
    });
    threads.push({
      path,
      row: label,
      'codec workers': codecWorkers,
      'whole process': Number(cpu.toFixed(1)),
      'JS thread': Number(each((r) => perLegSecond(r, (w) => w.threads.main)).toFixed(1)),
      'libdatachannel threads': Number(each((r) => perLegSecond(r, (w) => w.threads.webrtc)).toFixed(1)),
      'V8/libuv helpers': Number(each((r) => perLegSecond(r, (w) => w.threads.runtime)).toFixed(1)),
      'JS thread wake-ups/s': Math.round(each((r) => (r.window ? r.window.threads.mainWakeups / (r.window.wallMs / 1000) : NaN))),
    });
  }
  return { main, threads, memory };
}

export default async function benchCall(): Promise<void> {
  const seconds = typeof args.seconds === 'string' ? Number(args.seconds) : quick ? 3 : 6;
  // `--calls 0,1,20`: the rows to run (0 = one leg per process).
  const levels = typeof args.calls === 'string' ? args.calls.split(',').map(Number) : quick ? [0, 1, 5] : [0, 1, 2, 5, 10, 20, 50];
  // Seconds of audio before the window: JIT tier-up of the per-frame code and of the libopus
  // WebAssembly, and the jitter buffers settling.
  const warmup = typeof args.warmup === 'string' ? Number(args.warmup) : quick ? 2 : 5;
  // `--codec-workers 0,2`: each row with the encoders on the JavaScript thread (0) and in that many
  // worker threads (TelegramCalls' `codecWorkers`). By default the rows of 10 calls and more (20
  // legs and more, where it matters) also run with 2.
  const workerCounts = typeof args['codec-workers'] === 'string' ? args['codec-workers'].split(',').map(Number) : undefined;
  const workersFor = (calls: number): number[] => workerCounts ?? (calls >= 10 ? [0, 2] : [0]);
  const paths = (typeof args.paths === 'string' ? args.paths.split(',') : ['host', 'reflector']).filter((p): p is PathKind => p === 'host' || p === 'reflector');
  const load0 = loadavg()[0]!;
  const rows: Row[] = [];
  const reflector = paths.includes('reflector') ? await startReflectorChild() : undefined;
  let reflectorSeconds = 0;
  let reflectorUse: { cpuMs: number; forwarded: number } | undefined;
  try {
    for (const [i, calls] of levels.entries()) {
      for (const path of paths) {
        for (const codecWorkers of workersFor(calls)) {
          const port = path === 'reflector' ? reflector?.port : undefined;
          const row: Row =
            calls === 0
              ? { path, label: 'one leg per process', codecWorkers, legs: 2, reports: await legPerProcessRow(seconds, warmup, path, port, codecWorkers) }
              : { path, label: `${calls} call${calls > 1 ? 's' : ''} in one process`, codecWorkers, legs: 2 * calls, reports: await pairsRow(calls, seconds, warmup, 500 + i, path, port, codecWorkers) };
          rows.push(row);
          if (path === 'reflector') reflectorSeconds += (warmup + seconds) * (row.reports.reduce((a, r) => a + r.legs, 0) / 2);
        }
      }
    }
  } finally {
    reflectorUse = await reflector?.stop();
  }
  const { main, threads, memory } = format(rows);
  if (process.env.BENCH_JSON) {
    process.stdout.write(`BENCH_JSON ${JSON.stringify(main.map((m, i) => ({ ...m, ...threads[i], ...memory[i] })))}\n`);
  }
  process.stdout.write(
    `\nFull call legs, tgcall <-> tgcall on loopback through the fake Telegram, ${seconds} s of precomputed audio both ways per row after ${warmup} s ` +
      `(load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)} on ${process.platform} ${process.arch}, node ${process.version})\n`,
  );
  console.table(main);
  process.stdout.write('CPU per leg-second by thread (ms, from /proc/self/task; codec workers count in V8/libuv helpers)\n');
  console.table(threads);
  process.stdout.write('Memory (JS heap and external memory after a full collection at the end of the window)\n');
  console.table(memory);
  if (reflectorUse) {
    process.stdout.write(`fake reflector process: ${reflectorUse.cpuMs.toFixed(0)} ms CPU for ${reflectorUse.forwarded} packets forwarded over ~${reflectorSeconds} call-seconds of audio (plus set-ups)\n`);
  }
  process.stdout.write(
    'host = p2p allowed, direct; reflector = p2p off, through a fake reflector in a child process.\n' +
    'CPU: the whole process over the audio window, per leg. codec: libopus encode + decode of the same audio alone, same process, per leg-second.\n' +
      'skipped: frames senders skipped because the event loop stalled (an overloaded process or machine; loss does not count them).\n' +
      'RSS per leg: (peak RSS during the calls - RSS with the runtime loaded and no call) / legs.\n',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchCall();
}
