/**
 * A process that places a call, relays signaling data and shuts down exits by itself: every
 * timer, queue and listener of the signaling layer and the fake is released.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('process hygiene', () => {
  it('exits on its own after a full call and shutdown', async () => {
    const script = fileURLToPath(new URL('./fixtures/full-call.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The guard only bounds the test; a leaked handle would keep the child alive past it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(guard);
    expect(stderr).toBe('');
    expect(stdout).toContain('done echoed=10');
    expect(code).toBe(0);
  });
});
