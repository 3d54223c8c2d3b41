/**
 * Book-keeping of node-datachannel native objects (peer connections, tracks, data channels).
 *
 * node-datachannel keeps the event loop alive through a thread-safe function per wrapped object
 * until libdatachannel reports that object closed (PeerConnection state `closed`, Track/DataChannel
 * `onClosed`). node-datachannel exposes no count of them, so we count what we created and release
 * an entry when its closed callback fires: zero live handles means nothing of ours holds the
 * process open, without calling the process-global `cleanup()` that would also close other users'
 * connections.
 */
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { abandonNativeObject } from './orphaned-handles.js';

export type NativeHandleKind = 'peer-connection' | 'track' | 'data-channel';

const live = new Map<NativeHandleKind, number>([
  ['peer-connection', 0],
  ['track', 0],
  ['data-channel', 0],
]);

/** Number of node-datachannel objects created by this library whose closed callback has not fired yet. */
export function liveNativeHandles(): number {
  let n = 0;
  for (const v of live.values()) n += v;
  return n;
}

/** The same, per kind (for diagnostics and tests). */
export function liveNativeHandlesByKind(): Readonly<Record<NativeHandleKind, number>> {
  return {
    'peer-connection': live.get('peer-connection') ?? 0,
    track: live.get('track') ?? 0,
    'data-channel': live.get('data-channel') ?? 0,
  };
}

/** Registers one native object; the returned function releases it (idempotent). */
export function registerNativeHandle(kind: NativeHandleKind): () => void {
  live.set(kind, (live.get(kind) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    live.set(kind, Math.max(0, (live.get(kind) ?? 0) - 1));
  };
}

/**
 * The handles of one owner (one peer connection): counts each native object until its closed
 * callback releases it, so that `close()` can resolve once libdatachannel reported every one of
 * them closed, and lets objects whose closed callback will never come be abandoned to the
 * garbage collector (see orphaned-handles.ts).
 *
 * Callbacks installed on a native object must never reach that object (node-datachannel keeps
 * them alive until it reports closed, and an abandoned object must stay collectable): the
 * functions returned here hold only the tracker and a key.
 */
export class HandleTracker<T extends object> {
  private readonly log: Logger;
  private readonly onAbandon: (object: T) => void;
  private readonly abandonable = new Map<symbol, { readonly object: T; readonly release: () => void }>();
  private pending = 0;
  private closing = false;
  private releasedResolve: (() => void) | undefined;
  private readonly released: Promise<void>;

  /** `onAbandon` drops the owner's own references to an abandoned object. */
  constructor(log: Logger, onAbandon: (object: T) => void = () => {}) {
    this.log = log;
    this.onAbandon = onAbandon;
    this.released = new Promise((resolve) => (this.releasedResolve = resolve));
  }

  /** Native objects held and not released yet. */
  get pendingCount(): number {
    return this.pending;
  }

  /**
   * Counts a native object until its closed callback, installed by `install`, calls the release
   * it is given (at most once counts). When installing fails the object cannot be tracked and
   * is not waited for.
   */
  hold(release: () => void, install: (release: () => void) => void): void {
    this.pending++;
    let done = false;
    const releaseOnce = (): void => {
      if (done) return;
      done = true;
      release();
      this.pending--;
      if (this.pending === 0 && this.closing) this.releasedResolve?.();
    };
    try {
      install(releaseOnce);
    } catch (err) {
      releaseOnce();
      this.log.warn('cannot watch a native handle', { error: toError(err).message });
    }
  }

  /**
   * Registers an object that may have to be abandoned (a data channel) and returns the release
   * of its handle, remembered until it runs. Keyed by a symbol: the returned function goes into
   * the object's own callback and must not reach the object.
   */
  abandonableRelease(object: T, kind: NativeHandleKind): () => void {
    const key = Symbol(kind);
    const release = registerNativeHandle(kind);
    this.abandonable.set(key, { object, release });
    return () => {
      if (this.abandonable.delete(key)) release();
    };
  }

  /**
   * Leaves an object that was never tracked (a channel dropped as soon as announced) to the
   * collector, counting its handle until then.
   */
  abandonUntracked(object: T, kind: NativeHandleKind): void {
    abandonNativeObject(object, registerNativeHandle(kind));
  }

  /** Leaves `object` to the collector, which releases its handle (see orphaned-handles.ts). */
  abandon(object: T): void {
    for (const [key, entry] of this.abandonable) {
      if (entry.object !== object) continue;
      this.abandonable.delete(key);
      abandonNativeObject(object, entry.release);
    }
    this.onAbandon(object);
  }

  /**
   * Resolves once every held object was released. After `waitMs` the objects whose closed
   * callback did not come are abandoned (nothing else will release them) and it resolves anyway.
   * Idempotent.
   */
  close(waitMs: number): Promise<void> {
    if (this.closing) return this.released;
    this.closing = true;
    if (this.pending === 0) {
      this.releasedResolve?.();
      return this.released;
    }
    const timer = setTimeout(() => {
      this.log.warn('native handles not released in time', { pending: this.pending });
      for (const { object } of [...this.abandonable.values()]) this.abandon(object);
      this.releasedResolve?.();
    }, waitMs);
    timer.unref();
    void this.released.then(() => clearTimeout(timer));
    return this.released;
  }
}
