/**
 * Issue 15 defect 1, in a child process (an abort would kill it, not the test runner): a 3-port
 * `portRange` with `maxConcurrentCalls: 10` and 10 concurrent incoming calls, then a range whose
 * every port another socket holds. The process survives and exits by itself; the calls beyond
 * what the range holds are refused as busy, the others connect; a call that finds no free port
 * ends with the typed PORT_RANGE_EXHAUSTED.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runChildFixture } from '../helpers/child-fixture.js';

const EXIT_BOUND_MS = 90_000;

describe('a port range smaller than the calls asked of it', () => {
  it('10 concurrent calls on 3 ports: 3 connect, 7 are refused as busy; taken ports end the call typed; no abort', async () => {
    const script = fileURLToPath(new URL('./fixtures/port-range-bot.ts', import.meta.url));
    const run = await runChildFixture(script, EXIT_BOUND_MS);
    expect(run.killed, `still running after ${EXIT_BOUND_MS} ms:\n${run.stdout}\n${run.stderr}`).toBe(false);
    expect(run.signal, run.stderr).toBeNull(); // SIGABRT was the defect
    expect(run.code, run.stderr).toBe(0);
    const report = lastJsonLine<{
      done: boolean;
      portsTaken: number;
      botCapacity: number;
      callerOutcomes: string[];
      botOutcomes: string[];
      bot2Outcome: string;
      bot2CallerEnd: string;
    }>(run);
    expect(report.done).toBe(true);
    expect(report.botCapacity).toBe(3);
    expect(report.callerOutcomes).toEqual([...Array(3).fill('connected'), ...Array(7).fill('ended busy/remote')]);
    expect(report.botOutcomes).toEqual(Array(3).fill('connected'));
    expect(report.portsTaken).toBe(3);
    expect(report.bot2Outcome).toBe('failed TransportError PORT_RANGE_EXHAUSTED');
    expect(report.bot2CallerEnd).toBe('disconnect/remote');
  }, EXIT_BOUND_MS + 5_000);
});
