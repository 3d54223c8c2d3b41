/**
 * node-datachannel objects whose closed callback will never come.
 *
 * node-datachannel 0.33.4 keeps the event loop alive through a thread-safe function per data
 * channel wrapper, released only when libdatachannel reports the channel closed — or when the
 * wrapper is garbage-collected. A channel that libdatachannel closed before JavaScript saw it
 * (the peer hung up while `onDataChannel` was queued) never reports closed again, so the only way
 * to release it is to drop every reference and let the collector finalize the wrapper. An idle
 * process does not collect garbage by itself, so a collection is requested once.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const registry = new FinalizationRegistry<() => void>((release) => release());
let collector: (() => void) | null | undefined;
let scheduled = false;

/**
 * Hands `object` over to the garbage collector: `release` runs once it has been finalized. The
 * caller must keep no reference to `object`, and callbacks registered on it must not reach it.
 */
export function abandonNativeObject(object: object, release: () => void): void {
  registry.register(object, release);
  if (scheduled) return;
  scheduled = true;
  // not in this turn: the object may still be on the caller's stack
  setTimeout(() => {
    scheduled = false;
    collectGarbage();
  }, 0);
}

function collectGarbage(): void {
  if (collector === undefined) collector = findCollector();
  try {
    collector?.();
  } catch {
    // without a collector the wrapper lingers until V8 collects on its own
  }
}

function findCollector(): (() => void) | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
