/**
 * HandleTracker, the per-peer-connection book-keeping of native handles, driven with plain
 * objects and hand-called "closed callbacks" (no node-datachannel object involved).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { HandleTracker, liveNativeHandles, registerNativeHandle } from '../../src/transport/native-handles.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A stand-in for a native object: `closed()` plays libdatachannel's closed callback. */
function fakeNative(tracker: HandleTracker<object>) {
  let onClosed: (() => void) | undefined;
  tracker.hold(registerNativeHandle('track'), (release) => (onClosed = release));
  return { closed: () => onClosed?.() };
}

// The handle counters are process-wide: each test compares with where it started.
let base = 0;
beforeEach(() => {
  base = liveNativeHandles();
});

describe('HandleTracker', () => {
  it('close() resolves once every held object reported closed; a second release counts once', async () => {
    const tracker = new HandleTracker<object>(silentLogger);
    const a = fakeNative(tracker);
    const b = fakeNative(tracker);
    expect(tracker.pendingCount).toBe(2);
    a.closed();
    a.closed();
    expect(tracker.pendingCount).toBe(1);
    let done = false;
    const closing = tracker.close(5_000).then(() => (done = true));
    expect(tracker.close(5_000)).toBe(tracker.close(1));
    await Promise.resolve();
    expect(done).toBe(false);
    b.closed();
    await closing;
    expect(done).toBe(true);
    expect(liveNativeHandles()).toBe(base);
  });

  it('an object whose closed callback cannot be installed is not waited for', async () => {
    const tracker = new HandleTracker<object>(silentLogger);
    tracker.hold(registerNativeHandle('data-channel'), () => {
      throw new Error('native refused the callback');
    });
    expect(tracker.pendingCount).toBe(0);
    await tracker.close(5_000);
    expect(liveNativeHandles()).toBe(base);
  });

  it('after the wait, abandons what never reported closed and tells the owner', async () => {
    vi.useFakeTimers();
    const abandoned: object[] = [];
    const tracker = new HandleTracker<object>(silentLogger, (o) => abandoned.push(o));
    const channel = { label: 'data' };
    const release = tracker.abandonableRelease(channel, 'data-channel');
    let onClosed: (() => void) | undefined;
    tracker.hold(release, (r) => (onClosed = r));
    expect(liveNativeHandles()).toBe(base + 1);
    let done = false;
    void tracker.close(5_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(abandoned).toEqual([channel]);
    // Lets the collection request of orphaned-handles.ts run under the fake clock too.
    await vi.advanceTimersByTimeAsync(1);
    // A closed callback that comes after all does not release the handle twice: the collector owns it now.
    onClosed?.();
    expect(liveNativeHandles()).toBe(base + 1);
  });

  it('an abandonable object released normally is not abandoned later', async () => {
    const abandoned: object[] = [];
    const tracker = new HandleTracker<object>(silentLogger, (o) => abandoned.push(o));
    const channel = {};
    const release = tracker.abandonableRelease(channel, 'data-channel');
    let onClosed: (() => void) | undefined;
    tracker.hold(release, (r) => (onClosed = r));
    onClosed?.();
    await tracker.close(10);
    expect(abandoned).toEqual([]);
    expect(liveNativeHandles()).toBe(base);
  });
});
