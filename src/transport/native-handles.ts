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
