/**
 * Media benchmark (`npx tsx bench/media.ts [--quick]`): CPU cost of the audio path and how many
 * concurrent calls one process sustains in real time. Prints tables; asserts nothing.
 *
 * 1. Codec: CPU ms per call-second (50 frames of 20 ms mono, 32 kbit/s, complexity 5) for each
 *    Opus binding available, encode and decode separately.
 * 2. Pipeline: encode + packetize + depacketize + jitter buffer + decode (+ RTCP), one direction,
 *    on a virtual clock — CPU ms per call-second, with a tone, with 10 % loss, and muted.
 * 3. Real time: N call legs (MediaSessions, each encoding and decoding; paired back to back in
 *    process), on real timers for a few seconds; CPU use, event-loop delay, skipped/concealed
 *    frames. "Sustained" = no frame skipped by the sender, < 0.5 % of output frames concealed,
 *    ≥ 98 % of output frames produced, p99 event-loop delay < 40 ms. CPU % is the whole process
 *    (helper threads included), so it can exceed 100 with one JS thread. Run on the main thread and split over 2 worker threads
 *    (2 cores), at the default complexity 5 and at complexity 1.
 */
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { MediaEngine } from '../src/media/media-engine.js';
import { MediaSession } from '../src/media/media-session.js';
import { defaultOpusCodec, type OpusCodec } from '../src/media/opus-codec.js';

const quick = process.argv.includes('--quick');

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** A speech-like test signal: two harmonics with a 3 Hz envelope, plus a little noise. */
function speechLike(frames: number): Int16Array[] {
  const out: Int16Array[] = [];
  let seed = 1;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  for (let f = 0; f < frames; f += 1) {
    const a = new Int16Array(960);
    for (let i = 0; i < 960; i += 1) {
      const t = (f * 960 + i) / 48000;
      const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
      a[i] = Math.round(env * (7000 * Math.sin(2 * Math.PI * 180 * t) + 3000 * Math.sin(2 * Math.PI * 900 * t)) + rand() * 1500);
    }
    out.push(a);
  }
  return out;
}

function codecTable(): void {
  const seconds = quick ? 10 : 40;
  const frames = speechLike(50 * seconds);
  const rows: Record<string, string | number>[] = [];
  const opts = { channels: 1 as const, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 };
  const codecs: [string, OpusCodec][] = [
    ['@evan/opus native addon', defaultOpusCodec()],
    ['libopus wasm (@evan/opus)', defaultOpusCodec({ wasmEncoder: true })],
  ];
  for (const [name, codec] of codecs) {
    const enc = codec.createEncoder(opts);
    // Warm-up: V8 tiers wasm up from its baseline compiler only after a few seconds of use.
    const warm = frames.map((f) => enc.encode(f));
    const warmDec = codec.createDecoder(1);
    for (const p of warm) warmDec.decode(p);
    warmDec.close();
    const packets: Uint8Array[] = [];
    const e = cpuMs(() => {
      for (const f of frames) packets.push(enc.encode(f));
    });
    rows.push({ what: `encode, ${name}`, 'CPU ms per call-second': (e / seconds).toFixed(2) });
    if (name.startsWith('libopus wasm')) {
      const dec = codec.createDecoder(1);
      const d = cpuMs(() => {
        for (const p of packets) dec.decode(p);
      });
      rows.push({ what: `decode, ${name}`, 'CPU ms per call-second': (d / seconds).toFixed(2) });
      const plc = cpuMs(() => {
        for (let i = 0; i < packets.length; i += 1) dec.conceal(960);
      });
      rows.push({ what: `PLC 20 ms, ${name}`, 'CPU ms per call-second': (plc / seconds).toFixed(2) });
      const fec = cpuMs(() => {
        for (const p of packets) dec.decodeFec(p, 960);
      });
      rows.push({ what: `FEC decode 20 ms, ${name}`, 'CPU ms per call-second': (fec / seconds).toFixed(2) });
    }
  }
  try {
    // For comparison only: the binding this project started with.
    const require = createRequire(import.meta.url);
    const { OpusEncoder } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, ch: number) => { encode(b: Buffer): Buffer; decode(b: Buffer): Buffer; setBitrate(n: number): void; applyEncoderCTL(c: number, v: number): void } };
    const enc = new OpusEncoder(48000, 1);
    enc.applyEncoderCTL(4000, 2048); // OPUS_SET_APPLICATION voip
    enc.setBitrate(32000);
    enc.applyEncoderCTL(4010, 5);
    enc.applyEncoderCTL(4012, 1);
    enc.applyEncoderCTL(4014, 10);
    const packets: Buffer[] = [];
    const e = cpuMs(() => {
      for (const f of frames) packets.push(enc.encode(Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
    });
    const dec = new OpusEncoder(48000, 1);
    const d = cpuMs(() => {
      for (const p of packets) dec.decode(p);
    });
    rows.push({ what: 'encode, @discordjs/opus 0.10 (comparison)', 'CPU ms per call-second': (e / seconds).toFixed(2) });
    rows.push({ what: 'decode, @discordjs/opus 0.10 (comparison)', 'CPU ms per call-second': (d / seconds).toFixed(2) });
  } catch {
    // not installed: skip the comparison
  }
  console.log('\nOpus, 20 ms mono frames, 32 kbit/s, complexity 5, FEC on');
  console.table(rows);
}

function pipelineRun(seconds: number, o: { loss?: number; muted?: boolean; silent?: boolean }): { cpu: number; received: number } {
  const frames = speechLike(50);
  const a = new MediaEngine({ ssrc: 1, payloadType: 111, extensionIds: { absSendTime: 2, transportWideCc: 3 } });
  const b = new MediaEngine({ ssrc: 2, payloadType: 111 });
  if (o.muted) a.mute();
  let received = 0;
  let drop = 0;
  const cpu = cpuMs(() => {
    let now = 0;
    a.start(now);
    b.start(now);
    for (let n = 0; n < seconds * 50; n += 1, now += 20) {
      if (!o.silent) a.write(frames[n % 50]!);
      const ra = a.tick(now);
      for (const p of ra.rtp) {
        drop = (drop * 1103515245 + 12345) >>> 0;
        if (o.loss && drop / 2 ** 32 < o.loss) continue;
        b.handleRtp(p, now + 10);
      }
      for (const p of ra.rtcp) b.handleRtcp(p, now + 10);
      const rb = b.tick(now);
      received += rb.frames.length;
      for (const p of rb.rtcp) a.handleRtcp(p, now + 10);
    }
  });
  a.close();
  b.close();
  return { cpu: cpu / seconds, received };
}

function pipelineTable(): void {
  const seconds = quick ? 20 : 60;
  pipelineRun(30, { loss: 0.1 }); // warm-up (JIT, wasm tier-up)
  const rows = [
    { what: 'one direction, speech-like audio', ...fmt(pipelineRun(seconds, {})) },
    { what: 'one direction, 10 % loss (PLC/FEC)', ...fmt(pipelineRun(seconds, { loss: 0.1 })) },
    { what: 'one direction, sender muted (encoded silence)', ...fmt(pipelineRun(seconds, { muted: true })) },
    { what: 'one direction, nothing to say (silence fill)', ...fmt(pipelineRun(seconds, { silent: true })) },
  ];
  console.log(`\nWhole path on a virtual clock (encode + RTP + jitter buffer + decode + RTCP), ${seconds} s`);
  console.table(rows);
  console.log('A duplex call leg (what one MediaSession does) ≈ one direction of sending + one of receiving = the figure above.');
  function fmt(r: { cpu: number }): Record<string, string> {
    return { 'CPU ms per call-second': r.cpu.toFixed(2), '% of one core': (r.cpu / 10).toFixed(2) };
  }
}

interface ConcurrencyResult {
  legs: number;
  cpuPercent: number;
  loopP99Ms: number;
  skippedFrames: number;
  concealedPercent: number;
  framesOut: number;
  expectedFrames: number;
}

/** N call legs on real timers, paired back to back; each sends speech-like audio. */
async function runConcurrent(legs: number, seconds: number, complexity: number): Promise<ConcurrencyResult> {
  const frames = speechLike(50);
  const sessions: MediaSession[] = [];
  for (let i = 0; i < legs; i += 1) {
    const peer = i % 2 === 0 ? i + 1 : i - 1;
    sessions.push(
      new MediaSession(
        { ssrc: 1000 + i, payloadType: 111, complexity, extensionIds: { absSendTime: 2, transportWideCc: 3 } },
        {
          sendRtp: (p) => sessions[peer]?.handleRtp(p),
          sendRtcp: (p) => sessions[peer]?.handleRtcp(p),
        },
      ),
    );
  }
  let framesOut = 0;
  for (const s of sessions) s.output.on('data', () => (framesOut += 1));
  // The application: keeps ~2 frames queued in every leg.
  let k = 0;
  const feeder = setInterval(() => {
    for (const s of sessions) if (s.queuedInputMs < 40) s.pushFrame(frames[k++ % 50]!);
  }, 10);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Calls start at random moments, so their 20 ms clocks are spread over the period.
  for (const s of sessions) {
    s.start();
    await new Promise((r) => setTimeout(r, Math.random() * (40 / legs)));
  }
  await new Promise((r) => setTimeout(r, 1000)); // settle
  histogram.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out0 = framesOut;
  const base = sessions.map((s) => s.getStats());
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  histogram.disable();
  let skipped = 0;
  let concealed = 0;
  let produced = 0;
  sessions.forEach((s, i) => {
    const st = s.getStats();
    skipped += st.sent.skippedFrames - base[i]!.sent.skippedFrames;
    concealed += st.received.concealedFrames - base[i]!.received.concealedFrames;
    produced += st.received.framesOut - base[i]!.received.framesOut;
  });
  clearInterval(feeder);
  for (const s of sessions) s.close();
  return {
    legs,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    loopP99Ms: histogram.percentile(99) / 1e6,
    skippedFrames: skipped,
    concealedPercent: produced === 0 ? 100 : (concealed / produced) * 100,
    framesOut: framesOut - out0,
    expectedFrames: Math.round((legs * wall) / 20),
  };
}

function sustained(r: ConcurrencyResult): boolean {
  return r.skippedFrames === 0 && r.concealedPercent < 0.5 && r.loopP99Ms < 40 && r.framesOut >= 0.98 * r.expectedFrames;
}

async function runInWorkers(workers: number, legsPerWorker: number, seconds: number, complexity: number): Promise<ConcurrencyResult[]> {
  return Promise.all(
    Array.from({ length: workers }, () =>
      new Promise<ConcurrencyResult>((resolve, reject) => {
        // Workers do not inherit tsx's loader hooks: register them, then load this file.
        const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const w = new Worker(boot, { eval: true, workerData: { legs: legsPerWorker, seconds, complexity } });
        w.once('message', (m: ConcurrencyResult) => resolve(m));
        w.once('error', reject);
      }),
    ),
  );
}

async function concurrencyTable(): Promise<void> {
  const seconds = quick ? 3 : 6;
  const rows: Record<string, string | number>[] = [];
  const summary: string[] = [];
  for (const complexity of [5, 1]) {
    const steps = complexity === 5 ? [40, 50, 60, 70, 80] : [80, 100, 120, 140, 160, 180];
    let best = 0;
    for (const legs of quick ? steps.slice(0, 2) : steps) {
      const r = await runConcurrent(legs, seconds, complexity);
      const ok = sustained(r);
      rows.push(row(`main thread, complexity ${complexity}`, r, ok));
      if (ok) best = legs;
      else break;
    }
    let best2 = 0;
    for (const legs of (quick ? steps.slice(0, 2) : steps).map((n) => n * 2)) {
      const parts = await runInWorkers(2, legs / 2, seconds, complexity);
      const r: ConcurrencyResult = {
        legs,
        cpuPercent: Math.max(...parts.map((p) => p.cpuPercent)), // process.cpuUsage() is process-wide, also in a worker
        loopP99Ms: Math.max(...parts.map((p) => p.loopP99Ms)),
        skippedFrames: parts.reduce((a, p) => a + p.skippedFrames, 0),
        concealedPercent: parts.reduce((a, p) => a + p.concealedPercent, 0) / parts.length,
        framesOut: parts.reduce((a, p) => a + p.framesOut, 0),
        expectedFrames: parts.reduce((a, p) => a + p.expectedFrames, 0),
      };
      const ok = sustained(r);
      rows.push(row(`2 workers, complexity ${complexity}`, r, ok));
      if (ok) best2 = legs;
      else break;
    }
    summary.push(`complexity ${complexity}: ${best} legs on one thread, ${best2} over 2 worker threads`);
  }
  console.log(`\nReal time: concurrent call legs (each encodes and decodes 20 ms frames of speech-like audio), ${seconds} s per step`);
  console.table(rows);
  console.log(`Sustained (largest step that passed): ${summary.join('; ')}.`);

  function row(where: string, r: ConcurrencyResult, ok: boolean): Record<string, string | number> {
    return {
      where,
      'call legs': r.legs,
      'process CPU %': r.cpuPercent.toFixed(0),
      'loop delay p99 ms': r.loopP99Ms.toFixed(1),
      'skipped frames': r.skippedFrames,
      'concealed %': r.concealedPercent.toFixed(2),
      'frames out / expected': `${r.framesOut} / ${r.expectedFrames}`,
      sustained: ok ? 'yes' : 'no',
    };
  }
}

export default async function benchMedia(): Promise<void> {
  console.log(`codec: ${defaultOpusCodec().name}; node ${process.version}; ${quick ? 'quick run' : 'full run'}`);
  codecTable();
  pipelineTable();
  await concurrencyTable();
}

if (!isMainThread && parentPort) {
  const { legs, seconds, complexity } = workerData as { legs: number; seconds: number; complexity: number };
  parentPort.postMessage(await runConcurrent(legs, seconds, complexity));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchMedia();
}

