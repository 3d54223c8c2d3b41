/**
 * Process hygiene of the whole stack: a child process places three real calls (media and all)
 * through the fake Telegram and shuts down without calling process.exit(). It must exit by itself,
 * with code 0, and with nothing left that keeps it alive once its work is done: any socket, timer
 * or native handle left behind would hold it (the kill guard is the only time bound).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runChildFixture } from '../helpers/child-fixture.js';

const EXIT_BOUND_MS = 30_000;

describe('process hygiene with real calls', () => {
  it('a process that made three calls exits by itself with code 0', async () => {
    const script = fileURLToPath(new URL('./fixtures/three-calls.ts', import.meta.url));
    const started = Date.now();
    const run = await runChildFixture(script, EXIT_BOUND_MS);
    const { stdout, stderr, exitedAt, lastLineAt } = run;
    expect(run.killed, `still running after ${EXIT_BOUND_MS} ms:\n${stdout}\n${stderr}`).toBe(false);
    expect(stderr).toBe('');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    const report = lastJsonLine<{
      done: boolean;
      results: { tone: number; ends: string[] }[];
      liveNativeHandles: number;
      keepsAlive: string[];
    }>(run);
    expect(report.done).toBe(true);
    expect(report.liveNativeHandles).toBe(0);
    // Nothing lingers after the work is done: no timer (a forgotten one would hold the process
    // for its delay), socket or other handle keeps the event loop alive at the last line.
    expect(report.keepsAlive).toEqual([]);
    expect(report.results.map((r) => r.ends)).toEqual([
      ['hangup/local', 'hangup/remote'],
      ['hangup/remote', 'hangup/local'],
      ['hangup/local', 'hangup/remote'],
    ]);
    for (const r of report.results) expect(r.tone).toBeGreaterThanOrEqual(0.8);
    // A figure, not an assertion.
    console.log(`three-calls child: ${exitedAt - started} ms in all, exited ${exitedAt - lastLineAt} ms after its last line`);
  }, EXIT_BOUND_MS + 5_000);
});
