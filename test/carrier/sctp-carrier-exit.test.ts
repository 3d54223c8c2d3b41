/** The SCTP carrier with real timers in a child process: after close() the process exits by itself. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runChildFixture } from '../helpers/child-fixture.js';

const BOUND_MS = 20_000;

describe('SCTP carrier process hygiene', () => {
  it('a process that ran two associations and closed them exits by itself, soon after its last line', async () => {
    const script = fileURLToPath(new URL('./fixtures/sctp-pair.ts', import.meta.url));
    const run = await runChildFixture(script, BOUND_MS);
    const { stdout, stderr, killed, exitedAt, lastLineAt } = run;
    expect(killed, `still running after ${BOUND_MS} ms (a leaked timer, e.g. werift's 30 s heartbeat):\n${stdout}\n${stderr}`).toBe(false);
    expect(stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lastJsonLine(run)).toEqual({ got: [5000, 40], established: true, dropped: 1 });
    // werift's heartbeat (31 s) or T3 (1 s+) timers would hold the process for their delay.
    expect(exitedAt - lastLineAt).toBeLessThan(1_000);
  }, BOUND_MS + 5_000);
});
