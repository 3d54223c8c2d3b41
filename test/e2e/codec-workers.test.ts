/**
 * `codecWorkers`: calls whose outgoing audio is encoded in worker threads carry a tone both ways,
 * the workers stay for the next call until `stop()`, and a process that made such calls exits by itself.
 */
import { lastJsonLine, runChildFixture } from '../helpers/child-fixture.js';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelegramCalls } from '../../src/index.js';
import type { CodecWorkerPool } from '../../src/media/index.js';
import { BOB, expectHears, nextIncoming, phonesWith, playTone, type Phones } from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** The pool behind a `TelegramCalls` (private: read here to see where the encoders run). */
function poolOf(calls: TelegramCalls): CodecWorkerPool {
  return (calls as unknown as { codecPool: CodecWorkerPool }).codecPool;
}

const EXIT_BOUND_MS = 40_000;

describe('codecWorkers', () => {
  it('a call with codecWorkers: 1 on both sides carries 440 Hz and 880 Hz, encoded in the workers, kept for the next call until stop()', async () => {
    p = await phonesWith({}, { codecWorkers: 1 }, {});
    const [alicePool, bobPool] = [poolOf(p.alice), poolOf(p.bob)];
    expect(alicePool.workers).toBe(0); // started with the first call, not before
    const incoming = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const callee = await incoming;
    await Promise.all([callee.accept(), outgoing.whenConnected()]);
    void playTone(outgoing, 440, 4);
    void playTone(callee, 880, 4);
    await Promise.all([expectHears(callee, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);
    // Each side's encoder runs in its worker by now (the first frames may be encoded on the
    // JavaScript thread while the worker starts).
    expect(alicePool.workers).toBe(1);
    expect(bobPool.workers).toBe(1);
    expect(alicePool.encodersInWorkers).toBe(1);
    expect(bobPool.encodersInWorkers).toBe(1);
    expect(outgoing.getStats().media.sent.suppressedFrames).toBe(0);
    await Promise.all([outgoing.hangup(), callee.whenEnded()]);
    // Kept for the next call (CodecWorkerPool idleMs), never holding the process; stop() ends them.
    expect([alicePool.workers, bobPool.workers]).toEqual([1, 1]);
    await Promise.all([p.alice.stop(), p.bob.stop()]);
    expect([alicePool.workers, bobPool.workers]).toEqual([0, 0]);
  });

  it('a process that made three calls with codecWorkers: 2 exits by itself with code 0, nothing left running', async () => {
    const script = fileURLToPath(new URL('./fixtures/three-calls.ts', import.meta.url));
    // The bound only ends the test: a worker or handle left behind keeps the child alive until then.
    const run = await runChildFixture(script, EXIT_BOUND_MS, { ...process.env, THREE_CALLS_CODEC_WORKERS: '2' });
    expect(run.killed, `still running after ${EXIT_BOUND_MS} ms:\n${run.stdout}\n${run.stderr}`).toBe(false);
    expect(run.stderr).toBe('');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    const report = lastJsonLine<{ done: boolean; results: { tone: number }[]; liveNativeHandles: number; keepsAlive: string[] }>(run);
    expect(report.done).toBe(true);
    expect(report.liveNativeHandles).toBe(0);
    expect(report.keepsAlive).toEqual([]);
    // Audio flowed in each call. How well the tone came through is the first test's (judged on
    // decoded frames): the fixture judges 600 ms right after connecting, while the workers it has
    // just started warm their libopus up on the same 2 vCPUs (seen: 4 of 6 windows under load).
    for (const r of report.results) expect(r.tone).toBeGreaterThan(0);
  }, EXIT_BOUND_MS + 5_000);
});
