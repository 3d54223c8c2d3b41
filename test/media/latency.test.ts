/**
 * Latency must not leak (issue 14): one-way mouth-to-ear latency, measured from tone-burst onsets
 * on a virtual clock (latency-harness.ts), returns to its earlier value after an event-loop stall
 * with a live source and after a hiccup of the peer's sender, and stays where it is otherwise.
 */
import { describe, expect, it } from 'vitest';
import { latencies, median, runLatency, type LatencyRun } from './latency-harness.js';

/**
 * When latency came back for good: the mouth time (ms after the start) from which every burst is
 * within `toleranceMs` of `baselineMs`, or Infinity. Also requires bursts to keep arriving.
 */
function recoveredAt(run: LatencyRun, baselineMs: number, toleranceMs: number, fromMs: number): number {
  const after = run.bursts.filter((b) => b.mouthMs - 10_000 >= fromMs);
  let at = Infinity;
  for (let i = after.length - 1; i >= 0 && Math.abs(after[i]!.latencyMs - baselineMs) <= toleranceMs; i -= 1) at = after[i]!.mouthMs - 10_000;
  const tail = after.filter((b) => b.mouthMs - 10_000 >= at);
  return tail.length >= 5 ? at : Infinity;
}

const STALL_AT = 3000;

describe('latency (virtual clock)', () => {
  it('live source: after a 500 ms event-loop stall of the sending process, latency returns within 40 ms of its earlier value within 10 s', () => {
    for (const side of ['sender', 'both'] as const) {
      const run = runLatency({ seconds: 16, stalls: [{ side, atMs: STALL_AT, ms: 500 }] });
      const before = median(latencies(run, 500, STALL_AT));
      expect(before).toBeGreaterThan(60);
      expect(before).toBeLessThan(200);
      // The stall did disturb it (the measurement sees what it must).
      expect(Math.max(...latencies(run, STALL_AT, STALL_AT + 2000))).toBeGreaterThan(before + 40);
      const back = recoveredAt(run, before, 40, STALL_AT);
      expect(back - (STALL_AT + 500)).toBeLessThanOrEqual(10_000);
      const sent = run.a.getStats().sent;
      expect(sent.liveCuts).toBeGreaterThanOrEqual(1); // the backlog was cut, not sent late
      expect(sent.inputDroppedMs).toBeGreaterThanOrEqual(400);
      expect(sent.queuedMs).toBeLessThanOrEqual(40);
      // The receiver drained what the stall added to its own delay.
      const received = run.b.getStats().received;
      expect(received.currentDelayMs - received.targetDelayMs).toBeLessThanOrEqual(15);
    }
  });

  it('paced source: the same stall keeps every sample, and the latency it added stays (that is what paced means)', () => {
    const run = runLatency({ seconds: 10, write: (a, pcm) => a.write(pcm, 'paced'), stalls: [{ side: 'sender', atMs: STALL_AT, ms: 500 }] });
    const before = median(latencies(run, 500, STALL_AT));
    const ks = run.bursts.map((b) => b.k);
    expect(ks).toEqual(ks.map((_, i) => ks[0]! + i)); // no burst lost
    expect(run.a.getStats().sent.inputDroppedMs).toBe(0);
    expect(median(latencies(run, 6000, 9000))).toBeGreaterThan(before + 300);
  });

  it('after a hiccup of the sender (86 ms gap, then a burst), the receive delay returns within 10 s', () => {
    for (const frameMs of [20, 60]) {
      const run = runLatency({ seconds: 16, sender: { frameMs }, holds: [{ atMs: STALL_AT, ms: 86 }] });
      const before = median(latencies(run, 500, STALL_AT));
      expect(Math.max(...latencies(run, STALL_AT, STALL_AT + 1000))).toBeGreaterThan(before + 15);
      const back = recoveredAt(run, before, 10, STALL_AT);
      expect(back - STALL_AT).toBeLessThanOrEqual(10_000);
      const received = run.b.getStats().received;
      expect(received.acceleratedMs).toBeGreaterThan(20); // drained by time compression, not by dropping packets
      expect(received.discardedMs).toBe(0);
      expect(received.currentDelayMs - received.targetDelayMs).toBeLessThanOrEqual(15);
    }
  });

  it('the same hiccup on a jittery, lossy link: latency settles back near its earlier level', () => {
    const link = { baseDelayMs: 30, jitterMs: 60, loss: 0.1 };
    const calm = runLatency({ seconds: 16, link, sender: { frameMs: 60 } });
    const hit = runLatency({ seconds: 16, link, sender: { frameMs: 60 }, holds: [{ atMs: STALL_AT, ms: 86 }] });
    const reference = median(latencies(calm, 9000, 16_000));
    expect(median(latencies(hit, 9000, 16_000))).toBeLessThanOrEqual(reference + 40);
  });

  it('a steady live source with chunky or jittery delivery is never cut, and its latency is steady', () => {
    let held: Int16Array[] = [];
    let n = 0;
    const run = runLatency({
      seconds: 10,
      // 40 ms chunks, and every seventh chunk one frame late.
      write: (a, pcm) => {
        held.push(pcm);
        n += 1;
        if (held.length >= (n % 7 === 0 ? 3 : 2)) {
          for (const p of held) a.write(p, 'live');
          held = [];
        }
      },
    });
    expect(run.a.getStats().sent).toMatchObject({ liveCuts: 0, inputDroppedMs: 0 });
    const l = latencies(run, 1000, 10_000);
    expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(25);
  });
});
