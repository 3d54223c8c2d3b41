/**
 * Process hygiene of the whole stack: a child process places three real calls (media and all)
 * through the fake Telegram and shuts down without calling process.exit(). It must exit by itself,
 * with code 0, and with nothing left that keeps it alive once its work is done: any socket, timer
 * or native handle left behind would hold it (the kill guard is the only time bound).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const EXIT_BOUND_MS = 30_000;

describe('process hygiene with real calls', () => {
  it('a process that made three calls exits by itself with code 0', async () => {
    const script = fileURLToPath(new URL('./fixtures/three-calls.ts', import.meta.url));
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastLineAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      lastLineAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The guard only bounds the test; a leaked handle keeps the child alive until it fires.
    let killed = false;
    const guard = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, EXIT_BOUND_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    const exitedAt = Date.now();
    clearTimeout(guard);
    expect(killed, `still running after ${EXIT_BOUND_MS} ms:\n${stdout}\n${stderr}`).toBe(false);
    expect(stderr).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      done: boolean;
      results: { tone: number; ends: string[] }[];
      liveNativeHandles: number;
      keepsAlive: string[];
    };
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
