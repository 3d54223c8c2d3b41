/**
 * The sender's encoder stage, sans-I/O: frames (PCM, or none for silence) go in with `submit`,
 * their payloads come out of `next` in the same order. With an ordinary encoder a payload is ready
 * at once; with a deferred one (a codec worker) it is ready when the worker is done, and `next`
 * returns undefined until then.
 *
 * Digital silence is encoded for real for the first frames, then the last silence packet is reused
 * without running the encoder: an Opus packet decodes the same whatever precedes it, and this makes
 * idle and muted calls nearly free (with a worker, the cached packet is the one it returned).
 */
import { isSilent } from './pcm.js';
import { isDeferredEncoder, type DeferredOpusEncoder, type OpusEncoder } from './opus-codec.js';

const SILENCE_CACHE_AFTER = 10;

interface Entry {
  /** The payload when known at submit time (encoded here, or the cached silence packet). */
  payload: Uint8Array | undefined;
  /** Its payload becomes the cached silence packet when it arrives. */
  cache: boolean;
}

export class FrameEncoder {
  private readonly deferred: DeferredOpusEncoder | undefined;
  private readonly entries: Entry[] = [];
  private silentRun = 0;
  private silencePacket: Uint8Array | undefined;
  /** Frames that reused the cached silence packet. */
  cachedSilenceFrames = 0;

  /** @param cacheSilence false with DTX: its silence packets mean "not transmitted" and must not be reused. */
  constructor(
    private readonly encoder: OpusEncoder,
    private readonly frameSamples: number,
    private readonly cacheSilence: boolean,
  ) {
    this.deferred = isDeferredEncoder(encoder) ? encoder : undefined;
  }

  /** Set the owner's callback: a deferred payload is ready (called from the event loop). */
  set onReady(listener: (() => void) | undefined) {
    if (this.deferred) this.deferred.onReady = listener;
  }

  /** Frames submitted whose payload has not been returned by `next`. */
  get pending(): number {
    return this.entries.length;
  }

  /** Queues one frame; undefined is a frame of digital silence. */
  submit(pcm: Int16Array | undefined): void {
    const silent = pcm === undefined || isSilent(pcm);
    if (!silent) {
      this.silentRun = 0;
      this.entries.push(this.encode(pcm, false));
      return;
    }
    this.silentRun += 1;
    if (this.silencePacket && this.silentRun > SILENCE_CACHE_AFTER) {
      this.cachedSilenceFrames += 1;
      this.entries.push({ payload: this.silencePacket, cache: false });
      return;
    }
    this.entries.push(this.encode(pcm ?? new Int16Array(this.frameSamples), this.cacheSilence && this.silentRun === SILENCE_CACHE_AFTER));
  }

  /** The oldest frame's payload once it is ready (empty: the frame could not be encoded), else undefined. */
  next(): Uint8Array | undefined {
    const head = this.entries[0];
    if (!head) return undefined;
    let payload = head.payload;
    if (payload === undefined) {
      const taken = this.deferred!.take();
      if (taken === undefined) return undefined;
      payload = taken ?? EMPTY;
    }
    this.entries.shift();
    if (head.cache && payload.length > 0) this.silencePacket = payload;
    return payload;
  }

  private encode(pcm: Int16Array, cache: boolean): Entry {
    if (this.deferred) {
      this.deferred.submit(pcm);
      return { payload: undefined, cache };
    }
    const payload = this.encoder.encode(pcm);
    if (cache) this.silencePacket = payload;
    return { payload, cache: false };
  }
}

const EMPTY = new Uint8Array(0);
