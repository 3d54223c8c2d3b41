/**
 * The shared frame clock: pacers on one clock function share one timer, each still runs at its
 * own deadlines (never before), and one failing callback does not stop the others.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { frameGridStart, frameTimerLateness, Pacer, resetFrameTimerLateness } from '../../src/media/pacer.js';

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('pacer (shared timer, real time)', () => {
  it('runs every pacer of a clock at its own deadlines on one timer, and releases it', async () => {
    const now = (): number => performance.now();
    const baseline = timeouts();
    const start = frameGridStart(now());
    const runs: { a: number[]; b: number[] } = { a: [], b: [] };
    const late: number[] = [];
    const make = (name: 'a' | 'b', period: number): Pacer => {
      let next = start;
      return new Pacer(
        now,
        (t) => {
          expect(t).toBeGreaterThanOrEqual(next); // never early
          late.push(t - next);
          runs[name].push(t);
          next += period;
          return next;
        },
        (err) => {
          throw err;
        },
      );
    };
    const a = make('a', 20);
    const b = make('b', 40);
    a.start(start);
    b.start(start);
    expect(timeouts()).toBe(baseline + 1);
    await sleep(230);
    // (Other timers of the test runner may come and go meanwhile: compare around each stop.)
    let before = timeouts();
    a.stop();
    expect(timeouts()).toBe(before); // b still runs
    await sleep(50);
    before = timeouts();
    b.stop();
    expect(a.isRunning || b.isRunning).toBe(false);
    expect(timeouts()).toBe(before - 1);
    // Deadline-driven: the count follows the clock, whatever the lateness of single runs.
    expect(runs.a.length).toBeGreaterThanOrEqual(10);
    expect(runs.a.length).toBeLessThanOrEqual(13);
    expect(runs.b.length).toBeGreaterThanOrEqual(6);
    late.sort((x, y) => x - y);
    expect(late[Math.floor(late.length / 2)]!).toBeLessThan(10);
  });

  it('keeps the other pacers running when a callback throws', async () => {
    const now = (): number => performance.now();
    const errors: unknown[] = [];
    let good = 0;
    let bad = 0;
    let nextGood = now();
    const ok = new Pacer(now, () => {
      good += 1;
      nextGood += 10;
      return nextGood;
    }, (err) => errors.push(err));
    const failing = new Pacer(now, () => {
      bad += 1;
      throw new Error('boom');
    }, (err) => errors.push(err));
    ok.start(now());
    failing.start(now());
    await sleep(120);
    ok.stop();
    failing.stop();
    expect(good).toBeGreaterThanOrEqual(6);
    expect(bad).toBeGreaterThanOrEqual(3); // retried on the frame grid after a failure
    expect(errors.length).toBe(bad);
  });

  it('survives an error handler that throws: nothing escapes the shared timer, the other sessions keep ticking', async () => {
    const now = (): number => performance.now();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      let good = 0;
      let bad = 0;
      let nextGood = now();
      // Registered first, so that it runs before the good pacer in each shared wake-up.
      const failing = new Pacer(
        now,
        () => {
          bad += 1;
          throw new Error('tick bug');
        },
        () => {
          throw new Error('error listener bug'); // e.g. a throwing 'error' listener or logger
        },
      );
      const ok = new Pacer(now, () => {
        good += 1;
        nextGood += 10;
        return nextGood;
      }, () => undefined);
      failing.start(now());
      ok.start(now());
      await sleep(120);
      failing.stop();
      ok.stop();
      expect(uncaught).toEqual([]);
      expect(good).toBeGreaterThanOrEqual(6);
      expect(bad).toBeGreaterThanOrEqual(3); // the failing session keeps its clock too
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('counts how late each run is (the frame-timer lateness the benchmark reports)', async () => {
    let clock = 1000;
    const now = (): number => clock;
    resetFrameTimerLateness();
    let deadline = 1000;
    const p = new Pacer(now, () => (deadline += 20), () => undefined);
    p.start(deadline);
    // The shared timer runs pacers whose deadline has passed: move the clock past the deadline
    // and wait for the run (which moves the deadline on).
    for (const late of [0.1, 0.1, 3, 0.1]) {
      const due = deadline;
      clock = due + late;
      for (let i = 0; i < 200 && deadline === due; i += 1) await sleep(5);
    }
    p.stop();
    const l = frameTimerLateness();
    expect(l.runs).toBe(4);
    expect(l.p50Ms).toBe(0.25); // 0.1 ms falls in the first 0.25 ms bucket
    expect(l.maxMs).toBe(3.25);
    resetFrameTimerLateness();
    expect(frameTimerLateness().runs).toBe(0);
  });

  it('an idle pacer (Infinity) holds no timer', () => {
    const now = (): number => performance.now();
    const baseline = timeouts();
    const p = new Pacer(now, () => Infinity, () => undefined);
    p.start(Infinity);
    expect(timeouts()).toBe(baseline);
    p.stop();
  });
});
