/**
 * What the call benchmarks measure in a process: CPU over a window (whole process and per thread
 * from /proc/self/task), RSS, frame-timer lateness, packet loss, and the cost of the Opus codec
 * alone in the same process; plus the precomputed audio they play, so that the figures are the
 * library's and not a tone generator's. Diagnostics: `BENCH_THREADS=1` prints CPU by thread,
 * `BENCH_PROFILE=<dir>` writes a CPU profile of the measured window, `BENCH_HEAP=<dir>` a heap
 * snapshot at its end.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import type { Call } from '../src/index.js';
import { defaultOpusCodec } from '../src/media/index.js';
import { generateTone } from '../src/fake/index.js';
import { frameTimerLateness, resetFrameTimerLateness } from '../src/media/pacer.js';

/** 1 s of a tone as 50 views of 20 ms: 440 and 880 Hz fit whole periods in 1 s, so it loops without a click. */
export function toneLoop(frequency: number): readonly Int16Array[] {
  const pcm = generateTone({ frequency, durationMs: 1000, amplitude: 0.4 });
  return Array.from({ length: 50 }, (_, i) => pcm.subarray(i * 960, (i + 1) * 960));
}

/** Plays `loop` over and over while the call is connected; allocates nothing per frame. */
export function playLoop(call: Call, loop: readonly Int16Array[]): void {
  const frames = function* (): Generator<Int16Array> {
    for (let i = 0; call.state === 'connected'; i = (i + 1) % loop.length) yield loop[i]!;
  };
  void call.audio.play(frames());
}

/** CPU ms per thread group since process start (clock ticks of 10 ms: read over seconds). */
export interface ThreadCpu {
  /** The JavaScript thread (event loop). */
  main: number;
  /** libdatachannel / libjuice / usrsctp threads. */
  webrtc: number;
  /** Node's V8 platform and libuv threads (GC, compilation, thread pool). */
  runtime: number;
  /** Times the JavaScript thread went to sleep (voluntary context switches): its wake-ups. */
  mainWakeups: number;
}

const TICK_MS = 1000 / 100; // USER_HZ

/** CPU ms of each thread ("tid name"), for `BENCH_THREADS=1` diagnostics. */
const perThread = new Map<string, number>();

export function threadCpu(): ThreadCpu {
  const out: ThreadCpu = { main: 0, webrtc: 0, runtime: 0, mainWakeups: 0 };
  perThread.clear();
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return { main: NaN, webrtc: NaN, runtime: NaN, mainWakeups: NaN }; // not Linux
  }
  for (const tid of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
    perThread.set(`${tid} ${name}`, ms);
    if (tid === String(process.pid)) {
      out.main += ms;
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      out.mainWakeups = Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? NaN);
    }
    else if (/^(RTC|juice|SCTP|usrsctp)/.test(name)) out.webrtc += ms;
    else out.runtime += ms;
  }
  return out;
}

export interface Window {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly threads: ThreadCpu;
  readonly rss: number;
  readonly latenessP99Ms: number;
  readonly timerRuns: number;
  readonly packets: number;
  readonly lost: number;
  /** Frames the senders skipped because their clock stalled (an overloaded event loop). */
  readonly skipped: number;
  readonly sent: number;
  /** Live heap and memory outside the heap (ArrayBuffers, native objects V8 knows of) after a full GC, bytes. */
  readonly heapUsed: number;
  readonly external: number;
}

/** `BENCH_PROFILE=<dir>`: a V8 CPU profile of exactly the measured window, one file per process. */
function startProfile(): (() => Promise<void>) | undefined {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  const started = post('Profiler.enable').then(() => post('Profiler.start'));
  return async () => {
    await started;
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(`${dir}/window-${process.pid}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Measures `seconds` of running calls. */
export async function measureWindow(seconds: number, legs: readonly Call[]): Promise<Window> {
  const stopProfile = startProfile();
  if (process.env.BENCH_THREADS) process.stderr.write(`[${process.pid}] window of ${seconds} s starts\n`);
  const before = legs.map((c) => c.getStats().media);
  resetFrameTimerLateness();
  const t0 = threadCpu();
  const before0 = new Map(perThread);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let rss = 0;
  for (let s = 0; s < seconds; s += 1) {
    await new Promise((r) => setTimeout(r, 1000));
    rss = Math.max(rss, process.memoryUsage.rss());
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - start;
  const t1 = threadCpu();
  if (process.env.BENCH_THREADS) {
    const lines = [...perThread].map(([k, v]) => `${k}: ${((v - (before0.get(k) ?? 0)) / (wallMs / 1000)).toFixed(1)}`);
    process.stderr.write(`[${process.pid}] CPU ms/s by thread: ${lines.join(', ')}\n`);
  }
  const late = frameTimerLateness();
  await stopProfile?.();
  let packets = 0;
  let lost = 0;
  let skipped = 0;
  let sent = 0;
  legs.forEach((c, i) => {
    const m = c.getStats().media;
    packets += m.received.packets - before[i]!.received.packets;
    lost += m.received.lost - before[i]!.received.lost;
    skipped += m.sent.skippedFrames - before[i]!.sent.skippedFrames;
    sent += m.sent.packets - before[i]!.sent.packets;
  });
  const mem = settledMemory(); // after the CPU figures: a full collection is not the calls' work
  if (process.env.BENCH_HEAP) writeHeapSnapshot(`${process.env.BENCH_HEAP}/window-${process.pid}.heapsnapshot`);
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    threads: { main: t1.main - t0.main, webrtc: t1.webrtc - t0.webrtc, runtime: t1.runtime - t0.runtime, mainWakeups: t1.mainWakeups - t0.mainWakeups },
    rss,
    latenessP99Ms: late.p99Ms,
    timerRuns: late.runs,
    packets,
    lost,
    skipped,
    sent,
    heapUsed: mem.heapUsed,
    external: mem.external,
  };
}

/**
 * CPU ms that libopus alone takes for one leg-second (encode 50 frames of `loop`, decode 50
 * packets) with the settings calls use, through the same bindings. Run after the calls ended, so
 * nothing else competes, and after the call warmed up the WebAssembly.
 */
export function codecMsPerLegSecond(loop: readonly Int16Array[], seconds = 5): number {
  const codec = defaultOpusCodec();
  const enc = codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5, application: 'voip' });
  const dec = codec.createDecoder(1);
  const frames = 50 * seconds;
  for (let i = 0; i < 50; i += 1) dec.decode(enc.encode(loop[i % loop.length]!)); // warm-up
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < frames; i += 1) dec.decode(enc.encode(loop[i % loop.length]!));
  const cpu = process.cpuUsage(cpu0);
  enc.close();
  dec.close();
  return (cpu.user + cpu.system) / 1000 / seconds;
}

/** Memory once the heap is collected (`--expose-gc`), bytes. */
export function settledMemory(): { rss: number; heapUsed: number; external: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}
