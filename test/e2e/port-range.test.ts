/**
 * Issue 15 defect 1, in a child process (an abort would kill it, not the test runner): a 3-port
 * `portRange` with `maxConcurrentCalls: 10` and 10 concurrent incoming calls, then a range whose
 * every port another socket holds. The process survives and exits by itself; the calls beyond
 * what the range holds are refused as busy, the others connect; a call that finds no free port
 * ends with the typed PORT_RANGE_EXHAUSTED.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const EXIT_BOUND_MS = 90_000;

describe('a port range smaller than the calls asked of it', () => {
  it('10 concurrent calls on 3 ports: 3 connect, 7 are refused as busy; taken ports end the call typed; no abort', async () => {
    const script = fileURLToPath(new URL('./fixtures/port-range-bot.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const guard = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, EXIT_BOUND_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(guard);
    expect(killed, `still running after ${EXIT_BOUND_MS} ms:\n${stdout}\n${stderr}`).toBe(false);
    expect(signal, stderr).toBeNull(); // SIGABRT was the defect
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      done: boolean;
      portsTaken: number;
      botCapacity: number;
      callerOutcomes: string[];
      botOutcomes: string[];
      bot2Outcome: string;
      bot2CallerEnd: string;
    };
    expect(report.done).toBe(true);
    expect(report.botCapacity).toBe(3);
    expect(report.callerOutcomes).toEqual([...Array(3).fill('connected'), ...Array(7).fill('ended busy/remote')]);
    expect(report.botOutcomes).toEqual(Array(3).fill('connected'));
    expect(report.portsTaken).toBe(3);
    expect(report.bot2Outcome).toBe('failed TransportError PORT_RANGE_EXHAUSTED');
    expect(report.bot2CallerEnd).toBe('disconnect/remote');
  }, EXIT_BOUND_MS + 5_000);
});
