/** The SCTP carrier with real timers in a child process: after close() the process exits by itself. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BOUND_MS = 20_000;

describe('SCTP carrier process hygiene', () => {
  it('a process that ran two associations and closed them exits by itself, soon after its last line', async () => {
    const script = fileURLToPath(new URL('./fixtures/sctp-pair.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastLineAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      lastLineAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const guard = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, BOUND_MS);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const exitedAt = Date.now();
    clearTimeout(guard);
    expect(killed, `still running after ${BOUND_MS} ms (a leaked timer, e.g. werift's 30 s heartbeat):\n${stdout}\n${stderr}`).toBe(false);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ got: [5000, 40], established: true, dropped: 1 });
    // werift's heartbeat (31 s) or T3 (1 s+) timers would hold the process for their delay.
    expect(exitedAt - lastLineAt).toBeLessThan(1_000);
  }, BOUND_MS + 5_000);
});
