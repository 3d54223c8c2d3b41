/**
 * One call's Opus encoder running in a codec worker (`CodecWorkerPool`), as a
 * `DeferredOpusEncoder`: `submit` copies the frame into the call's slot ring (codec-slots.ts) and
 * rings the worker; the packet comes back through `take`, in order, once the worker has encoded it
 * (the pool calls `notify`, which calls `onReady`).
 *
 * Until its worker has started (tens of ms from the built package, a few hundred from the sources
 * under tsx) frames are encoded on the JavaScript thread, then the worker takes over: waiting for
 * it would send the first frames late and in a burst, which the peer's jitter buffer answers with
 * a long delay. The switch restarts the encoder's state once, at the start of the call.
 *
 * When the worker is lost (it died, or fell ~0.4 s behind) the encoder falls back to an encoder on
 * the JavaScript thread: the packets the worker finished are kept, the frames it had not encoded
 * are encoded here from the ring (shared memory outlives the worker), every setting is replayed,
 * and the call never notices beyond one restart of the encoder's state.
 */
import { MediaError } from '../errors.js';
import { SlotWriter } from './codec-slots.js';
import {
  clampLossPercent,
  OPUS_SET_BITRATE,
  OPUS_SET_PACKET_LOSS_PERC,
  type DeferredOpusEncoder,
  type OpusCodec,
  type OpusEncoder,
  type OpusEncoderOptions,
} from './opus-codec.js';

/**
 * Frames held here while every slot is in flight before the worker counts as behind: with the
 * ring's 16 slots, at most ~0.4 s of audio waits for a worker. Beyond that the call encodes on the
 * JavaScript thread, whose frame clock skips frames when it cannot keep up: latency stays bounded
 * (issue 14) instead of growing with an overloaded worker's backlog (2 s before, measured: 1.4 s
 * median send delay at 100 legs on 2 vCPUs).
 */
const MAX_OVERFLOW = 4;

/** What the encoder needs from its worker (the pool's handle). */
export interface EncoderWorkerLink {
  /** The worker has started: frames submitted from now on are encoded there. */
  readonly ready: boolean;
  /** Wakes the worker: frames were submitted. */
  ring(): void;
  /** Posts a settings change (libopus CTL) to the worker. */
  ctl(request: number, value: number): void;
  /** The encoder leaves the worker (closed or fallen back). */
  detach(encoder: WorkerOpusEncoder): void;
  /** The worker is not keeping up: drop it for this encoder. */
  behind(encoder: WorkerOpusEncoder): void;
}

export class WorkerOpusEncoder implements DeferredOpusEncoder {
  readonly channels: 1 | 2;
  onReady: (() => void) | undefined;
  /** 'starting': encoded here until the worker is up; 'worker'; 'local': the worker was lost. */
  private mode: 'starting' | 'worker' | 'local' = 'starting';
  private writer: SlotWriter | undefined;
  private link: EncoderWorkerLink | undefined;
  private readonly overflow: Int16Array[] = [];
  /** The JavaScript thread's encoder (before the worker starts, after it is lost), and its packets not yet taken: they come before the ring's. */
  private local: OpusEncoder | undefined;
  private readonly localPackets: (Uint8Array | null)[] = [];
  /** Every setting changed since creation, replayed on a fallback encoder. */
  private readonly ctls = new Map<number, number>();
  private closed = false;

  constructor(
    buffer: SharedArrayBuffer,
    link: EncoderWorkerLink,
    private readonly options: OpusEncoderOptions,
    private readonly fallbackCodec: OpusCodec,
    private readonly onClose: () => void,
  ) {
    this.channels = options.channels;
    this.writer = new SlotWriter(buffer);
    this.link = link;
  }

  /** True while a worker encodes for it. */
  get inWorker(): boolean {
    return this.mode === 'worker';
  }

  /** Frames given to the worker and not yet encoded by it. */
  get outstanding(): number {
    return this.writer ? this.writer.pending + this.overflow.length : 0;
  }

  encode(): Uint8Array {
    throw new MediaError('OPUS_DEFERRED', 'a codec worker encoder takes frames with submit() and returns packets from take()');
  }

  submit(pcm: Int16Array): void {
    if (this.closed) return;
    if (pcm.length !== 48 * this.options.frameMs * this.channels) {
      throw new MediaError('OPUS_BAD_FRAME_SIZE', `expected ${48 * this.options.frameMs * this.channels} samples, got ${pcm.length}`);
    }
    if (this.mode === 'starting' && this.link?.ready) {
      this.mode = 'worker';
      this.local?.close();
      this.local = undefined;
    }
    if (this.mode === 'worker') {
      if (this.overflow.length === 0 && this.writer!.submit(pcm)) {
        this.link!.ring();
        return;
      }
      if (this.overflow.length < MAX_OVERFLOW) {
        this.overflow.push(pcm.slice()); // the caller may reuse its buffer
        return;
      }
      this.link!.behind(this); // falls back: what was in flight is encoded here, in order
    }
    this.localPackets.push(this.encodeLocal(pcm));
  }

  take(): Uint8Array | null | undefined {
    if (this.localPackets.length > 0) return this.localPackets.shift();
    if (this.mode !== 'worker') return undefined;
    const packet = this.writer!.take();
    if (packet !== undefined && this.overflow.length > 0) this.pump();
    return packet;
  }

  /** The pool's completion callback: tells the owner when packets are ready. */
  notify(): void {
    if (this.closed || !this.onReady) return;
    if (this.localPackets.length > 0 || (this.mode === 'worker' && this.writer!.ready > 0)) this.onReady();
  }

  setBitrate(bps: number): void {
    this.ctl(OPUS_SET_BITRATE, bps);
  }

  setPacketLossPercent(percent: number): void {
    this.ctl(OPUS_SET_PACKET_LOSS_PERC, clampLossPercent(percent));
  }

  ctl(request: number, value: number): void {
    if (this.closed) return;
    this.ctls.set(request, value);
    this.local?.ctl?.(request, value);
    this.link?.ctl(request, value);
  }

  /**
   * Moves to an encoder on the JavaScript thread (the pool calls it when the worker is lost):
   * finished packets first, then the frames the worker never encoded, in order.
   */
  fallBack(): void {
    if (this.closed || this.mode === 'local') return;
    const writer = this.writer!;
    let unencoded: Int16Array[] = [];
    if (this.mode === 'worker') {
      for (let p = writer.take(); p !== undefined; p = writer.take()) this.localPackets.push(p);
      unencoded = [...writer.reclaim(), ...this.overflow];
    }
    this.mode = 'local';
    this.overflow.length = 0;
    this.writer = undefined;
    const link = this.link;
    this.link = undefined;
    link?.detach(this);
    for (const pcm of unencoded) this.localPackets.push(this.encodeLocal(pcm));
    if (this.localPackets.length > 0) queueMicrotask(() => this.notify());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    this.writer = undefined;
    this.overflow.length = 0;
    this.localPackets.length = 0;
    link?.detach(this);
    this.local?.close();
    this.onClose();
  }

  private pump(): void {
    let moved = false;
    while (this.overflow.length > 0 && this.writer!.submit(this.overflow[0]!)) {
      this.overflow.shift();
      moved = true;
    }
    if (moved) this.link!.ring();
  }

  private encodeLocal(pcm: Int16Array): Uint8Array | null {
    try {
      if (!this.local) {
        this.local = this.fallbackCodec.createEncoder(this.options);
        for (const [request, value] of this.ctls) this.local.ctl?.(request, value);
      }
      return this.local.encode(pcm);
    } catch {
      return null; // as a worker does: this frame is dropped, the call goes on
    }
  }
}
