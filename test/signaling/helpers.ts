/** Shared setup for the signaling tests: two (or three) accounts on one fake Telegram. */
import { afterEach, beforeEach, expect } from 'vitest';
import { FakeTelegram, type FakeClient, type FakeTelegramOptions } from '../../src/fake/index.js';
import {
  PhoneCalls,
  type CallEndInfo,
  type CallReadyInfo,
  type IncomingCallSignaling,
  type PhoneCallsOptions,
} from '../../src/signaling/index.js';

export const ALICE = 1001n;
export const BOB = 2002n;
export const CAROL = 3003n;

/** A clock the tests can move forward (call durations), on top of real time. */
export class TestClock {
  offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface Setup {
  readonly tg: FakeTelegram;
  readonly alice: PhoneCalls;
  readonly bob: PhoneCalls;
  readonly clock: TestClock;
  readonly aliceClient: FakeClient;
  readonly bobClient: FakeClient;
  /** Stops both sides, closes the fake and checks that nothing is left running. */
  close(): Promise<void>;
}

type SideOptions = Omit<PhoneCallsOptions, 'mtproto'>;

/**
 * The per-test frame of the signaling suites. Returns `setup`, which also remembers what it
 * made: after each test every account is stopped and the fake closed (which checks that no
 * call, queue or fake timer is left), and no Timeout handle may outlive the test.
 */
export function useSignalingWorld(): typeof setup {
  const made: Setup[] = [];
  let baseline = 0;
  beforeEach(() => {
    baseline = liveTimeouts();
  });
  afterEach(async () => {
    for (const world of made.splice(0)) await world.close();
    // A timer cleared by a close that finishes a moment later (a request settling on the next
    // turns of the loop) is no leak; one still alive after 1 s is. Polled, so a loaded machine
    // only makes the wait longer, never the verdict different.
    for (let i = 0; i < 100 && liveTimeouts() > baseline; i++) await new Promise((r) => setTimeout(r, 10));
    expect(liveTimeouts(), JSON.stringify(process.getActiveResourcesInfo())).toBeLessThanOrEqual(baseline);
  });
  return async (fake, side) => {
    const world = await setup(fake, side);
    made.push(world);
    return world;
  };
}

export async function setup(
  fake: FakeTelegramOptions = {},
  side: { alice?: SideOptions; bob?: SideOptions } = {},
): Promise<Setup> {
  const tg = new FakeTelegram({ seed: 7, ...fake });
  const clock = new TestClock();
  const aliceClient = tg.createClient(ALICE, 'alice');
  const bobClient = tg.createClient(BOB, 'bob');
  const alice = new PhoneCalls({ now: clock.now, ...side.alice, mtproto: aliceClient });
  const bob = new PhoneCalls({ now: clock.now, ...side.bob, mtproto: bobClient });
  await Promise.all([alice.start(), bob.start()]);
  return {
    tg,
    alice,
    bob,
    clock,
    aliceClient,
    bobClient,
    async close() {
      await Promise.all([alice.stop(), bob.stop()]);
      tg.close();
      expect(alice.calls).toHaveLength(0);
      expect(bob.calls).toHaveLength(0);
      expect(tg.pendingTimers).toBe(0);
    },
  };
}

export function nextIncoming(calls: PhoneCalls): Promise<IncomingCallSignaling> {
  return new Promise((resolve) => calls.once('incoming', resolve));
}

/** Places alice -> bob, bob accepts; resolves with both ready infos. */
export async function connect(s: Setup): Promise<{
  out: Awaited<ReturnType<PhoneCalls['call']>>;
  inc: IncomingCallSignaling;
  readyOut: CallReadyInfo;
  readyIn: CallReadyInfo;
}> {
  const incoming = nextIncoming(s.bob);
  const out = await s.alice.call(BOB);
  const inc = await incoming;
  inc.accept();
  const [readyOut, readyIn] = await Promise.all([out.whenReady(), inc.whenReady()]);
  return { out, inc, readyOut, readyIn };
}

export async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function endedWith(info: CallEndInfo, expected: Partial<CallEndInfo> & { code?: string }): void {
  const { code, ...rest } = expected;
  expect(info).toMatchObject(rest);
  if (code !== undefined) expect(info.error?.code).toBe(code);
}

/** Timeout handles alive in this process (node's own view), to prove nothing leaks. */
export function liveTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
