/**
 * Can Opus encoding leave the JavaScript thread? (`npx tsx bench/codec-workers.ts [--quick]`)
 *
 * At scale a call costs about what its codec costs (bench/call.ts: CPU / codec ≈ 1 from 20 legs),
 * and node-datachannel lives in one JavaScript environment per process (bench/worker-probe.ts),
 * so the transport stays on one thread and the codec is what other threads can take. This is the
 * frame tick of N legs on a 20 ms timer, as the shared frame timer runs it, in two shapes:
 * - `main`: every leg's encode and decode on the JavaScript thread;
 * - `W workers`: the tick copies each leg's PCM frame into a SharedArrayBuffer and wakes W
 *   worker_threads (Atomics.notify), each holding the encoders of its legs; the JavaScript thread
 *   decodes meanwhile, then waits (Atomics.wait) for the packets and copies them out. Same tick,
 *   same latency: no frame waits for the next tick.
 * Per row: process and JavaScript-thread CPU (/proc/self/task) per leg and second of audio, the
 * JavaScript thread's busy time per tick (p50 / p99, what is left of 20 ms for the network and the
 * application), its wait for the workers, and whether the ticks kept up with real time. Precomputed
 * audio; asserts nothing.
 *
 * Note: the `W workers` rows here run the @evan/opus addon in the workers, which is unsafe (the
 * addon encodes into one output buffer per process: two threads encoding at once can corrupt each
 * other's packets; src/media/codec-worker.ts). The library's `codecWorkers` runs the WebAssembly
 * libopus in its workers; its cost is the second table: real `MediaSession`s in pairs, back to back
 * in this process, encoders on the JavaScript thread or in a `CodecWorkerPool`, with the delay from
 * each frame's deadline to its packet reaching the transport (what the workers add to latency).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CodecWorkerPool, defaultOpusCodec, MediaSession, preloadOpus, type OpusEncoder, type OpusEncoderOptions } from '../src/media/index.js';
import { monotonicNow } from '../src/media/pacer.js';
import { median, toneLoop } from './measure.js';

const FRAME = 960;
const MAX_PACKET = 1275; // RFC 6716 §3.2.1: the largest Opus frame
const ENCODER: OpusEncoderOptions = { channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5, application: 'voip' };
// control words: [0] tick sequence, [1 + w] last sequence worker w finished
interface Shared {
  readonly control: Int32Array;
  readonly pcm: Int16Array;
  readonly packets: Uint8Array;
  readonly lengths: Int32Array;
}

function shared(legs: number, workers: number, buffers?: SharedArrayBuffer[]): { views: Shared; buffers: SharedArrayBuffer[] } {
  const b = buffers ?? [new SharedArrayBuffer(4 * (1 + workers)), new SharedArrayBuffer(2 * FRAME * legs), new SharedArrayBuffer(MAX_PACKET * legs), new SharedArrayBuffer(4 * legs)];
  return { buffers: b, views: { control: new Int32Array(b[0]!), pcm: new Int16Array(b[1]!), packets: new Uint8Array(b[2]!), lengths: new Int32Array(b[3]!) } };
}

// ---- worker: encodes legs w, w + W, w + 2W, … each time the sequence moves ---------------------

function workerMain(): void {
  const { legs, workers, index, buffers } = workerData as { legs: number; workers: number; index: number; buffers: SharedArrayBuffer[] };
  const { control, pcm, packets, lengths } = shared(legs, workers, buffers).views;
  const codec = defaultOpusCodec();
  const mine: [number, OpusEncoder][] = [];
  for (let leg = index; leg < legs; leg += workers) mine.push([leg, codec.createEncoder(ENCODER)]);
  parentPort!.postMessage('ready');
  let seen = 0;
  for (;;) {
    Atomics.wait(control, 0, seen);
    seen = Atomics.load(control, 0);
    if (seen < 0) break; // stop
    for (const [leg, enc] of mine) {
      const packet = enc.encode(pcm.subarray(leg * FRAME, (leg + 1) * FRAME));
      packets.set(packet, leg * MAX_PACKET);
      lengths[leg] = packet.length;
    }
    Atomics.store(control, 1 + index, seen);
    Atomics.notify(control, 1 + index);
  }
  for (const [, enc] of mine) enc.close();
}

// ---- main -------------------------------------------------------------------------------------

function startWorker(data: object): Worker {
  // tsx's loader hooks are not inherited by workers: register them first (as bench/worker-probe.ts).
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface RowResult {
  readonly cpu: number;
  readonly mainCpu: number;
  readonly busyP50: number;
  readonly busyP99: number;
  readonly waitP99: number;
  /** Audio seconds ticked per wall second: below 1, the ticks did not keep up. */
  readonly realTime: number;
}

async function row(legs: number, workers: number, seconds: number): Promise<RowResult> {
  const { views, buffers } = shared(legs, workers);
  const { control, pcm, packets, lengths } = views;
  const loop = toneLoop(440);
  const codec = defaultOpusCodec();
  const encoders = workers === 0 ? Array.from({ length: legs }, () => codec.createEncoder(ENCODER)) : [];
  const decoders = Array.from({ length: legs }, () => codec.createDecoder(1));
  const threads = Array.from({ length: workers }, (_, index) => startWorker({ legs, workers, index, buffers }));
  await Promise.all(threads.map((t) => new Promise((resolve) => t.once('message', resolve))));
  // What each leg "received": last tick's packet, decoded this tick.
  const received = Array.from({ length: legs }, () => new Uint8Array(MAX_PACKET));
  const receivedLength = new Int32Array(legs);
  const busy: number[] = [];
  const waits: number[] = [];
  let seq = 0;
  const tick = (n: number): void => {
    const t0 = performance.now();
    const frame = loop[n % loop.length]!;
    if (workers > 0) {
      for (let leg = 0; leg < legs; leg += 1) pcm.set(frame, leg * FRAME);
      seq += 1;
      Atomics.store(control, 0, seq);
      Atomics.notify(control, 0);
    }
    for (let leg = 0; leg < legs; leg += 1) if (receivedLength[leg]! > 0) decoders[leg]!.decode(received[leg]!.subarray(0, receivedLength[leg]));
    let waited = 0;
    if (workers > 0) {
      const w0 = performance.now();
      for (let w = 0; w < workers; w += 1) while (Atomics.load(control, 1 + w) !== seq) Atomics.wait(control, 1 + w, Atomics.load(control, 1 + w), 100);
      waited = performance.now() - w0;
      for (let leg = 0; leg < legs; leg += 1) {
        received[leg]!.set(packets.subarray(leg * MAX_PACKET, leg * MAX_PACKET + lengths[leg]!));
        receivedLength[leg] = lengths[leg]!;
      }
    } else {
      for (let leg = 0; leg < legs; leg += 1) {
        const packet = encoders[leg]!.encode(frame);
        received[leg]!.set(packet);
        receivedLength[leg] = packet.length;
      }
    }
    busy.push(performance.now() - t0 - waited);
    waits.push(waited);
  };
  const run = async (frames: number): Promise<void> => {
    const start = performance.now();
    for (let n = 0; n < frames; n += 1) {
      tick(n);
      const next = start + (n + 1) * 20;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  };
  await run(50); // warm-up: JIT and WebAssembly tier-up
  busy.length = 0;
  waits.length = 0;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const wall0 = performance.now();
  await run(50 * seconds);
  const wall = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainCpu = mainThreadCpuMs() - main0;
  Atomics.store(control, 0, -1);
  Atomics.notify(control, 0);
  await Promise.all(threads.map((t) => new Promise((resolve) => t.once('exit', resolve))));
  for (const e of encoders) e.close();
  for (const d of decoders) d.close();
  const p99 = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length * 0.99)] ?? NaN;
  // Per 50 frames (an audio second), not per wall second: a starved process runs fewer ticks a second.
  const audioSeconds = (50 * seconds) / 50;
  return {
    cpu: (cpu.user + cpu.system) / 1000 / audioSeconds / legs,
    mainCpu: mainCpu / audioSeconds / legs,
    busyP50: median(busy),
    busyP99: p99(busy),
    waitP99: p99(waits),
    realTime: audioSeconds / wall,
  };
}

/** N legs as N/2 pairs of MediaSessions back to back, tone both ways, encoders in `workers` codec workers (0: JavaScript thread). */
async function sessionRow(legs: number, workers: number, seconds: number): Promise<Record<string, number>> {
  const pool = workers > 0 ? new CodecWorkerPool({ workers }) : undefined;
  const loop = toneLoop(440);
  const offsetsBySession: number[][] = [];
  let measuring = false;
  const sessions: MediaSession[] = [];
  for (let i = 0; i < legs; i += 2) {
    let a!: MediaSession;
    let b!: MediaSession;
    // Each packet's send time minus its media time (RTP timestamp / 48): a constant for packets
    // sent exactly on time, so the delay of each is its excess over the smallest one of the session.
    const sink = (peer: () => MediaSession): ConstructorParameters<typeof MediaSession>[1] => {
      let ts0: number | undefined;
      const offsets: number[] = [];
      offsetsBySession.push(offsets);
      return {
        sendRtp: (p) => {
          const ts = p.readUInt32BE(4);
          ts0 ??= ts;
          if (measuring) offsets.push(monotonicNow() - ((ts - ts0) >>> 0) / 48);
          setImmediate(() => peer().handleRtp(p));
        },
        sendRtcp: (p) => setImmediate(() => peer().handleRtcp(p)),
      };
    };
    a = new MediaSession({ ssrc: 1000 + i, payloadType: 111, ...(pool ? { codec: pool.codec } : {}) }, sink(() => b));
    b = new MediaSession({ ssrc: 5000 + i, payloadType: 111, ...(pool ? { codec: pool.codec } : {}) }, sink(() => a));
    sessions.push(a, b);
  }
  for (const s of sessions) {
    s.start();
    void s.play((function* () {
      for (let n = 0; !s.closed; n += 1) yield loop[n % loop.length]!;
    })());
  }
  await new Promise((r) => setTimeout(r, 2000)); // warm-up: JIT, wasm tier-up, the workers started
  measuring = true;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const wall0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainCpu = mainThreadCpuMs() - main0;
  measuring = false;
  const inWorkers = pool?.encodersInWorkers ?? 0;
  for (const s of sessions) s.close();
  await pool?.close();
  const delays = offsetsBySession.flatMap((o) => {
    const min = Math.min(...o);
    return o.map((x) => x - min);
  });
  const sorted = delays.sort((x, y) => x - y);
  const q = (f: number): number => sorted[Math.floor(f * (sorted.length - 1))] ?? NaN;
  return {
    legs,
    'codec workers': workers,
    'encoders in workers': inWorkers,
    'process CPU ms/leg-s': Number(((cpu.user + cpu.system) / 1000 / wall / legs).toFixed(1)),
    'JS thread ms/leg-s': Number((mainCpu / wall / legs).toFixed(1)),
    'send delay p50 ms': Number(q(0.5).toFixed(2)),
    'p90 ms': Number(q(0.9).toFixed(2)),
    'p99 ms': Number(q(0.99).toFixed(2)),
    'packets/leg-s': Number((delays.length / wall / legs).toFixed(1)),
  };
}

export async function benchSessionsWithCodecWorkers(legCounts: readonly number[], seconds: number): Promise<void> {
  preloadOpus();
  const load0 = loadavg()[0]!;
  const table: Record<string, number>[] = [];
  for (const legs of legCounts) for (const workers of [0, 2]) table.push(await sessionRow(legs, workers, seconds));
  process.stdout.write(
    `\nMediaSessions in pairs in one process, encoders on the JavaScript thread or in a CodecWorkerPool (codecWorkers), ${seconds} s per row ` +
      `(load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}, node ${process.version})\n`,
  );
  console.table(table);
  process.stdout.write(
    'send delay: from a frame\'s deadline to its packet reaching the transport, over the earliest packet of its session (timer lateness included);\n' +
      'the difference between the rows is what the hop to a worker and back adds. Packets per leg-second: 50 when every frame went out.\n',
  );
}

export default async function benchCodecWorkers(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const seconds = quick ? 3 : 6;
  const legCounts = quick ? [20, 100] : [20, 100, 200];
  const load0 = loadavg()[0]!;
  preloadOpus(); // the @evan/opus addon must be loaded by the main thread before any worker (bench/worker-probe.ts)
  const table: Record<string, string | number>[] = [];
  for (const legs of legCounts) {
    for (const workers of [0, 1, 2]) {
      const r = await row(legs, workers, seconds);
      table.push({
        legs,
        encoding: workers === 0 ? 'main thread' : `${workers} worker${workers > 1 ? 's' : ''}`,
        'CPU ms/leg-s': Number(r.cpu.toFixed(1)),
        'JS thread ms/leg-s': Number(r.mainCpu.toFixed(1)),
        'JS busy per tick p50 ms': Number(r.busyP50.toFixed(2)),
        'p99 ms': Number(r.busyP99.toFixed(2)),
        'wait for workers p99 ms': Number(r.waitP99.toFixed(2)),
        'real time': Number(r.realTime.toFixed(2)),
      });
    }
  }
  process.stdout.write(
    `\nOpus encode on the JavaScript thread or in worker_threads, N legs' 20 ms frame tick (encode + decode per leg), ${seconds} s per row ` +
      `(load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}, node ${process.version})\n`,
  );
  console.table(table);
  process.stdout.write(
    'CPU per leg and per second of audio (50 ticks). JS busy: the tick on the JavaScript thread without its wait for the workers, wall time\n' +
      '(preemption on a loaded machine included); 20 ms is the whole budget of a frame. real time: audio seconds ticked per wall second (< 1: behind).\n',
  );
  await benchSessionsWithCodecWorkers(quick ? [20, 100] : [20, 100, 200], seconds);
}

if (!isMainThread && (workerData as { buffers?: unknown } | undefined)?.buffers) workerMain();
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `--sessions-only`: just the MediaSession table (the library's codecWorkers).
  if (process.argv.includes('--sessions-only')) await benchSessionsWithCodecWorkers(process.argv.includes('--quick') ? [20, 100] : [20, 100, 200], process.argv.includes('--quick') ? 3 : 6);
  else await benchCodecWorkers();
}
