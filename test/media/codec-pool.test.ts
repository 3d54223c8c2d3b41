/**
 * Codec workers with real threads: two MediaSessions on real timers, back to back, one encoding in
 * a `CodecWorkerPool` worker; a tone both ways, settings sent to the worker, a worker killed in the
 * middle of a call (its call falls back to the JavaScript thread and goes on), and the workers
 * kept for the next call until the pool's idle time is over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { CodecWorkerPool } from '../../src/media/codec-pool.js';
import type { WorkerOpusEncoder } from '../../src/media/worker-opus-encoder.js';
import { judgeTone, type ToneHeard } from '../../src/cli/tone-judge.js';
import { MediaSession, type AudioFrame, type MediaSink } from '../../src/media/media-session.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { lastJsonLine, runChildFixture } from '../helpers/child-fixture.js';

function linkTo(peer: () => MediaSession): MediaSink {
  return {
    sendRtp: (p) => setImmediate(() => peer().handleRtp(p)),
    sendRtcp: (p) => setImmediate(() => peer().handleRtcp(p)),
  };
}

function recordingLogger(warnings: string[]): Logger {
  const log: Logger = {
    debug() {},
    info() {},
    warn: (message) => void warnings.push(message),
    error: (message) => void warnings.push(`error: ${message}`),
    child: () => log,
  };
  return log;
}

/** Plays a tone into `session` (paced: every sample sent, at the frame clock's pace) until `stop()`. */
function feed(session: MediaSession, frequency: number): () => void {
  const tone = new ToneGenerator({ frequency, amplitude: 0.5 });
  let playing = true;
  void session.play((function* () {
    while (playing) yield tone.next(960);
  })());
  return () => {
    playing = false;
  };
}

/** What `session` hears of `frequency` over `ms`, judged as the e2e tests judge it (decoded frames only, from the first voiced one). */
async function hear(session: MediaSession, frequency: number, ms: number): Promise<ToneHeard & { frames: number }> {
  const frames: AudioFrame[] = [];
  const iterator = session.frames()[Symbol.asyncIterator]();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const next = await Promise.race([iterator.next(), sleep(until - Date.now()).then(() => undefined)]);
    if (!next || next.done) break;
    frames.push(next.value);
  }
  await iterator.return?.();
  return { ...judgeTone(frames, frequency), frames: frames.length };
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
});

function sessions(pool: CodecWorkerPool): { a: MediaSession; b: MediaSession } {
  let a!: MediaSession;
  let b!: MediaSession;
  a = new MediaSession({ ssrc: 1001, payloadType: 111, extensionIds: { absSendTime: 2, transportWideCc: 3 }, codec: pool.codec }, linkTo(() => b));
  b = new MediaSession({ ssrc: 2002, payloadType: 111 }, linkTo(() => a));
  cleanup.push(() => a.close(), () => b.close());
  return { a, b };
}

describe('codec worker pool', () => {
  it('carries a tone both ways with one side encoding in a worker, and stops its worker when the last encoder closes (idleMs 0)', async () => {
    const warnings: string[] = [];
    const pool = new CodecWorkerPool({ workers: 1, idleMs: 0, logger: recordingLogger(warnings) });
    expect(pool.workers).toBe(0); // lazily: nothing until the first encoder
    const { a, b } = sessions(pool);
    expect(pool.workers).toBe(1);
    expect(pool.encodersInWorkers).toBe(1);
    a.start();
    b.start();
    const stops = [feed(a, 880), feed(b, 440)];
    cleanup.push(...stops);
    const [bHears, aHears] = await Promise.all([hear(b, 880, 2500), hear(a, 440, 2500)]);
    expect(bHears.share, JSON.stringify(bHears)).toBeGreaterThanOrEqual(0.9);
    expect(aHears.share, JSON.stringify(aHears)).toBeGreaterThanOrEqual(0.9);
    // Every frame A produced went out: its packets came back from the worker, none dropped.
    const sent = a.getStats().sent;
    expect(sent.packets).toBeGreaterThan(50);
    expect(sent.suppressedFrames).toBe(0);
    expect(pool.encodersInWorkers).toBe(1); // still in the worker: it kept up
    expect(warnings).toEqual([]);
    for (const stop of stops) stop();
    a.close();
    b.close();
    expect(pool.workers).toBe(0);
  });

  it('a worker killed in the middle of a call: the call falls back to the JavaScript thread, one warning, the tone goes on', async () => {
    const warnings: string[] = [];
    const pool = new CodecWorkerPool({ workers: 1, logger: recordingLogger(warnings) });
    const { a, b } = sessions(pool);
    // A second call on the same worker: it falls back too, and the warning is still one.
    const other = sessions(pool);
    expect(pool.encodersInWorkers).toBe(2);
    for (const s of [a, b, other.a, other.b]) s.start();
    const stops = [feed(a, 880), feed(b, 440), feed(other.a, 660)];
    cleanup.push(...stops);
    expect((await hear(b, 880, 1000)).frames).toBeGreaterThan(0);
    expect(pool.encodersInWorkers).toBe(2);
    const [worker] = pool.threadsForTest;
    await worker!.terminate();
    await sleep(50); // the 'exit' event
    expect(pool.workers).toBe(0);
    expect(pool.encodersInWorkers).toBe(0);
    const after = a.getStats().sent.packets;
    const [bHears, otherHears] = await Promise.all([hear(b, 880, 2000), hear(other.b, 660, 2000)]);
    expect(bHears.share, JSON.stringify(bHears)).toBeGreaterThanOrEqual(0.9);
    expect(otherHears.share, JSON.stringify(otherHears)).toBeGreaterThanOrEqual(0.9);
    expect(a.getStats().sent.packets).toBeGreaterThan(after + 50);
    expect(a.closed).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/codec worker lost/);
    // A pool that lost a worker starts no more: new calls encode on the JavaScript thread.
    const third = sessions(pool);
    expect(pool.workers).toBe(0);
    third.a.close();
    third.b.close();
  });

  it('sends settings changes to the worker: a lower bit rate set mid-stream gives smaller packets, still encoded there', async () => {
    const pool = new CodecWorkerPool({ workers: 1, idleMs: 0 });
    const encoder = pool.codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 }) as WorkerOpusEncoder;
    cleanup.push(() => encoder.close());
    const tone = new ToneGenerator({ frequency: 440, amplitude: 0.5 });
    const taken: number[] = [];
    const drain = (): void => {
      for (let p = encoder.take(); p !== undefined; p = encoder.take()) taken.push(p?.length ?? -1);
    };
    // Until the worker has started the frames are encoded here (see worker-opus-encoder.ts).
    for (let i = 0; i < 500 && !encoder.inWorker; i += 1) {
      encoder.submit(tone.next(960));
      drain();
      await sleep(20);
    }
    expect(encoder.inWorker).toBe(true);
    const meanOf = async (frames: number): Promise<number> => {
      for (let i = 0; i < 500 && encoder.outstanding > 0; i += 1) await sleep(10);
      drain();
      taken.length = 0;
      for (let i = 0; i < frames; i += 1) encoder.submit(tone.next(960));
      for (let i = 0; i < 500 && taken.length < frames; i += 1) {
        await sleep(10);
        drain();
      }
      expect(taken).toHaveLength(frames);
      expect(Math.min(...taken)).toBeGreaterThan(0);
      return taken.slice(5).reduce((a, b) => a + b, 0) / (frames - 5);
    };
    const at32k = await meanOf(15);
    encoder.setBitrate(8000);
    const at8k = await meanOf(15);
    expect(at8k).toBeLessThan(at32k * 0.5);
    expect(encoder.inWorker).toBe(true);
    encoder.close();
    expect(pool.workers).toBe(0);
  });

  it('a backlog beyond the ring (~0.4 s of audio) moves the call to the JavaScript thread: no frame lost, one warning', async () => {
    const warnings: string[] = [];
    const pool = new CodecWorkerPool({ workers: 1, logger: recordingLogger(warnings) });
    const encoder = pool.codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: false, packetLossPercent: 0, dtx: false, complexity: 5 }) as WorkerOpusEncoder;
    cleanup.push(() => encoder.close());
    const tone = new ToneGenerator({ frequency: 440, amplitude: 0.5 });
    let taken = 0;
    const drain = (): void => {
      for (let p = encoder.take(); p !== undefined; p = encoder.take()) if (p && p.length > 0) taken += 1;
    };
    for (let i = 0; i < 500 && !encoder.inWorker; i += 1) {
      encoder.submit(tone.next(960));
      drain();
      await sleep(20);
    }
    expect(encoder.inWorker).toBe(true);
    for (let i = 0; i < 500 && encoder.outstanding > 0; i += 1) await sleep(10);
    drain();
    taken = 0;
    // 40 frames at once, more than the 16 slots and the few frames held beside them: the worker
    // cannot have encoded them in the same task, so it counts as behind.
    for (let i = 0; i < 40; i += 1) encoder.submit(tone.next(960));
    expect(encoder.inWorker).toBe(false);
    for (let i = 0; i < 500 && taken < 40; i += 1) {
      drain();
      if (taken < 40) await sleep(10);
    }
    expect(taken).toBe(40);
    expect(warnings).toEqual([expect.stringMatching(/fell behind/)]);
    encoder.close();
  });

  it('keeps idle workers for the next call, and stops them once idleMs passes with no encoder', async () => {
    // 1 s of idle time: far above the event-loop stalls of a loaded machine (the first check is 100 ms in).
    const pool = new CodecWorkerPool({ workers: 2, idleMs: 1_000 });
    cleanup.push(() => pool.close());
    const options = { channels: 1, bitrate: 32000, frameMs: 20, fec: false, packetLossPercent: 0, dtx: false, complexity: 5 } as const;
    const first = pool.codec.createEncoder(options) as WorkerOpusEncoder;
    const threads = pool.threadsForTest;
    expect(threads).toHaveLength(2);
    first.close();
    await sleep(100);
    // The next call, within the idle time: the same threads, still encoding there.
    expect(pool.workers).toBe(2);
    const second = pool.codec.createEncoder(options) as WorkerOpusEncoder;
    expect(pool.threadsForTest).toEqual(threads);
    expect(pool.encodersInWorkers).toBe(1);
    // An encoder open holds the workers past the idle time (the first close's timer was cancelled).
    await sleep(1_300);
    expect(pool.workers).toBe(2);
    second.close();
    for (let i = 0; i < 250 && pool.workers > 0; i += 1) await sleep(20);
    expect(pool.workers).toBe(0);
  });

  it('a process whose pool has idle workers (default idle time, 30 s) exits by itself at once', async () => {
    const script = fileURLToPath(new URL('./fixtures/idle-codec-pool.ts', import.meta.url));
    const run = await runChildFixture(script, 20_000);
    expect(run.killed, `still running after 20 s:\n${run.stdout}\n${run.stderr}`).toBe(false);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = lastJsonLine<{ inWorker: boolean; packets: number; idleWorkers: number; closedAt: number }>(run);
    expect(report.inWorker).toBe(true);
    expect(report.idleWorkers).toBe(2); // still there when the script ended: the process did not wait for them
    expect(run.exitedAt - report.closedAt).toBeLessThan(15_000);
  }, 25_000);

  it('refuses an idle time that is negative or not a number', () => {
    expect(() => new CodecWorkerPool({ workers: 1, idleMs: -1 })).toThrow(RangeError);
    expect(() => new CodecWorkerPool({ workers: 1, idleMs: Number.NaN })).toThrow(RangeError);
  });

  it('refuses a pool size outside 1..64', () => {
    expect(() => new CodecWorkerPool({ workers: 0 })).toThrow(RangeError);
    expect(() => new CodecWorkerPool({ workers: 1.5 })).toThrow(RangeError);
    expect(() => new CodecWorkerPool({ workers: 65 })).toThrow(RangeError);
  });
});
