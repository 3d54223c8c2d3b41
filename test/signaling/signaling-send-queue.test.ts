/** signaling-send-queue.ts: ordered, retrying phone.sendSignalingData with bounded pipelining. */
import { describe, expect, it } from 'vitest';
import { fakeFloodWait } from '../../src/fake/index.js';
import { SignalingSendQueue } from '../../src/signaling/index.js';
import { liveTimeouts } from './helpers.js';

/**
 * A `send` that waits with `wait`, then answers request number `call` (from 1) as `answer` says:
 * true (sent), false (the server said false) or an Error (thrown). Records what was sent and the
 * most requests in flight at once.
 */
function countingSend(wait: () => Promise<unknown>, answer: (call: number) => boolean | Error) {
  let inFlight = 0;
  let calls = 0;
  const link = {
    sent: [] as number[],
    maxInFlight: 0,
    send: async (data: Uint8Array): Promise<boolean> => {
      inFlight++;
      link.maxInFlight = Math.max(link.maxInFlight, inFlight);
      await wait();
      inFlight--;
      const result = answer(++calls);
      if (result instanceof Error) throw result;
      if (result) link.sent.push(data[0]!);
      return result;
    },
  };
  return link;
}

describe('SignalingSendQueue', () => {
  it('with maxInFlight 1 sends strictly in order, one at a time, retrying failures in place', async () => {
    // the 2nd request fails, the 4th is answered false: both retried in place
    const link = countingSend(() => new Promise((r) => setImmediate(r)), (call) => (call === 2 ? new Error('reset') : call !== 4));
    const queue = new SignalingSendQueue({
      send: link.send,
      onFailure: () => {
        throw new Error('must not fail');
      },
      policy: { baseDelayMs: 1, maxInFlight: 1 },
    });
    for (let i = 0; i < 5; i++) queue.enqueue(new Uint8Array([i]));
    await queue.idle();
    expect(link.sent).toEqual([0, 1, 2, 3, 4]);
    expect(link.maxInFlight).toBe(1);
    expect(queue.getStats()).toEqual({ sent: 5, retries: 2, floodWaits: 0, dropped: 0 });
  });

  it('pipelines up to maxInFlight requests and still delivers every packet', async () => {
    const link = countingSend(() => new Promise((r) => setTimeout(r, 2)), (call) => (call === 2 ? new Error('reset') : true));
    const queue = new SignalingSendQueue({
      send: link.send,
      onFailure: () => {
        throw new Error('must not fail');
      },
      policy: { baseDelayMs: 1, maxInFlight: 3 },
    });
    for (let i = 0; i < 10; i++) queue.enqueue(new Uint8Array([i]));
    await queue.idle();
    expect(link.maxInFlight).toBe(3);
    expect([...link.sent].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(queue.getStats()).toEqual({ sent: 10, retries: 1, floodWaits: 0, dropped: 0 });
  });

  it('fails once after the attempts are used up, and drops what is left', async () => {
    const failures: string[] = [];
    const queue = new SignalingSendQueue({
      send: () => Promise.reject(new Error('down')),
      onFailure: (e) => failures.push(e.code),
      policy: { baseDelayMs: 1, maxAttempts: 3, maxInFlight: 1 },
    });
    queue.enqueue(new Uint8Array([1]));
    queue.enqueue(new Uint8Array([2]));
    await queue.idle();
    expect(failures).toEqual(['NETWORK_ERROR']);
    expect(queue.getStats().retries).toBe(2);
    expect(queue.enqueue(new Uint8Array([3]))).toBe(false);
    expect(queue.getStats().dropped).toBe(3); // the two queued at the failure plus the refused one
  });

  it('close() during a back-off releases its timer at once', async () => {
    const before = liveTimeouts();
    const queue = new SignalingSendQueue({
      send: () => Promise.reject(fakeFloodWait(20)),
      onFailure: () => {},
    });
    queue.enqueue(new Uint8Array([1]));
    await new Promise((r) => setTimeout(r, 10));
    expect(liveTimeouts()).toBe(before + 1);
    queue.close();
    await queue.idle();
    expect(liveTimeouts()).toBe(before);
    expect(queue.getStats()).toMatchObject({ floodWaits: 1, dropped: 1, sent: 0 });
  });

  it('bounds the queue', () => {
    const queue = new SignalingSendQueue({ send: () => new Promise(() => {}), onFailure: () => {}, policy: { maxQueued: 2 } });
    expect([1, 2, 3].map((i) => queue.enqueue(new Uint8Array([i])))).toEqual([true, true, false]);
    queue.close();
  });
});
