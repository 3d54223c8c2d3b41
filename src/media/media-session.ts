/**
 * The I/O edge of one call's audio: a `MediaEngine` plus its frame clock (a `Pacer`, whose timer
 * the sessions of a process share) and the Node streams. The transport hands in decrypted
 * RTP/RTCP (`handleRtp`/`handleRtcp`) and receives what to send through the sink; the application
 * writes PCM to `input` (or `pushFrame`, or `play(asyncIterable)`) and reads PCM from `output`
 * (or `frames()`).
 *
 * Nothing here throws into the transport: sink failures and bad packets are counted and logged,
 * and 'error' is emitted only when someone listens for it.
 */
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { MediaError, toError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { safeEmit } from '../safe-emit.js';
import { MediaEngine, type MediaEngineOptions, type OutputFrame } from './media-engine.js';
import type { InputMode } from './audio-sender.js';
import type { MediaStats } from './media-stats.js';
import { frameGridStart, monotonicNow, Pacer } from './pacer.js';
import { bytesToSamples, samplesToBuffer } from './pcm.js';

export interface MediaSessionOptions extends MediaEngineOptions {
  /** Injectable clock, ms. Default: monotonic wall-clock (performance.timeOrigin + performance.now()). */
  now?: () => number;
  /** Received frames kept for a slow reader of `output` or `frames()`, per consumer. Default 50 (1 s). */
  outputBufferFrames?: number;
  /** Paced writers (`play()`, and `input` when paced) are paused while this much input is queued. Default 200 ms. */
  inputHighWaterMs?: number;
  /**
   * Policy of `input` and `pushFrame()`. Default 'live': a real-time source (microphone, bridge),
   * never paused, latency bounded by cutting a backlog. 'paced': every sample sent, `input` applies
   * backpressure (for piping a file or TTS stream into `input`). `play()` chooses per call.
   */
  inputMode?: InputMode;
}

export interface PlayOptions {
  /** The source runs on its own real-time clock (a microphone, a bridge): bounded latency instead of lossless pacing. */
  live?: boolean;
}

export interface MediaSink {
  sendRtp(packet: Buffer): void;
  sendRtcp(packet: Buffer): void;
}

export interface AudioFrame {
  /** Interleaved s16 at 48 kHz, `channels` as configured, 20 ms. */
  pcm: Int16Array;
  /** When the frame was played out, on the session clock (ms). */
  timestamp: number;
  voice: boolean;
  concealed: boolean;
  rtpTimestamp?: number;
}

export interface MediaSessionEvents {
  /** The peer started talking (voice activity in the received audio). */
  voiceStart: [];
  /** The peer stopped talking. */
  voiceEnd: [];
  error: [Error];
  close: [];
}

class FrameQueue {
  frames: AudioFrame[] = [];
  waiter: ((r: IteratorResult<AudioFrame>) => void) | undefined;
  dropped = 0;
  constructor(readonly capacity: number) {}
}

export class MediaSession extends EventEmitter<MediaSessionEvents> {
  readonly input: Writable;
  readonly output: Readable;
  private readonly engine: MediaEngine;
  private readonly sink: MediaSink;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly pacer: Pacer;
  private readonly bytesPerSample: number;
  private readonly outCapacity: number;
  private readonly highWaterMs: number;
  private readonly inputMode: InputMode;
  private carry: Uint8Array = new Uint8Array(0);
  private pendingWrite: (() => void) | undefined;
  private drainWaiters: (() => void)[] = [];
  private outRing: Int16Array[] = [];
  private outWanted = false;
  private outDropped = 0;
  private subscribers = new Set<FrameQueue>();
  private voice = false;
  private isClosed = false;
  private sendErrors = 0;

  constructor(options: MediaSessionOptions, sink: MediaSink) {
    super();
    this.engine = new MediaEngine(options);
    this.sink = sink;
    this.now = options.now ?? monotonicNow;
    this.log = options.logger ?? silentLogger;
    this.bytesPerSample = 2 * this.engine.channels;
    this.outCapacity = Math.max(1, options.outputBufferFrames ?? 50);
    this.highWaterMs = options.inputHighWaterMs ?? 200;
    this.inputMode = options.inputMode ?? 'live';
    this.pacer = new Pacer(this.now, (t) => this.onTick(t), (err) => this.fail(err));
    this.engine.onEncoded = () => this.sendEncoded();

    this.input = new Writable({
      write: (chunk: Buffer, _enc, cb) => this.writeBytes(chunk, cb, this.inputMode),
      final: (cb) => {
        this.engine.flushInput();
        cb();
      },
    });
    this.output = new Readable({
      read: () => this.readOutput(),
    });
  }

  /** Starts the frame clock: sending (silence until audio is written) and playout. */
  start(): void {
    if (this.isClosed || this.engine.isStarted) return;
    // On the common frame grid, so that every session of the process shares one timer wake-up.
    this.engine.start(frameGridStart(this.now()));
    this.pacer.start(this.engine.nextDeadline);
  }

  /** Stops everything and leaves the frame clock (its timer ends with the last session); idempotent. Sends a final RTCP report with BYE. */
  close(): void {
    if (this.isClosed) return;
    const bye = this.engine.goodbye(this.now());
    if (bye) this.send('rtcp', bye);
    this.isClosed = true;
    this.pacer.stop();
    this.engine.close();
    this.releaseWriters();
    this.output.push(null);
    for (const q of this.subscribers) {
      q.frames = [];
      q.waiter?.({ done: true, value: undefined });
      q.waiter = undefined;
    }
    this.subscribers.clear();
    safeEmit(this, this.log, 'close');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Decrypted RTP from the transport. Never throws. */
  handleRtp(packet: Uint8Array): void {
    try {
      this.engine.handleRtp(packet, this.now());
    } catch (err) {
      this.log.warn('rtp handling failed', { error: toError(err).message });
    }
  }

  /** Decrypted RTCP from the transport. Never throws. */
  handleRtcp(packet: Uint8Array): void {
    try {
      this.engine.handleRtcp(packet, this.now());
    } catch (err) {
      this.log.warn('rtcp handling failed', { error: toError(err).message });
    }
  }

  /**
   * Queues one chunk of PCM (s16, interleaved in the configured channels, any length). Live by
   * default (`inputMode`): what was captured just now; a backlog that builds up (the event loop
   * stalled, the source bursts) is cut so latency stays bounded. See `play()` for audio that must
   * be sent in full.
   */
  pushFrame(pcm: Int16Array): void {
    this.write(pcm, this.inputMode);
  }

  /**
   * Sends PCM from an iterable (chunks of s16le bytes or Int16Array samples). Default (paced): every
   * sample is sent, in order, at the frame clock's pace; the source is read only while less than
   * `inputHighWaterMs` is queued — for files, TTS, anything produced ahead of real time. With
   * `{ live: true }` the source is read as fast as it yields and treated like `pushFrame` (bounded
   * latency, a backlog is cut). Resolves when the source is exhausted (its audio queued) or the
   * session closes.
   */
  async play(source: AsyncIterable<Uint8Array | Int16Array> | Iterable<Uint8Array | Int16Array>, options: PlayOptions = {}): Promise<void> {
    const mode: InputMode = options.live ? 'live' : 'paced';
    for await (const chunk of source) {
      if (this.isClosed) return;
      if (chunk instanceof Int16Array) this.write(chunk, mode);
      else this.writeBytes(chunk, () => undefined, mode);
      while (mode === 'paced' && !this.isClosed && this.engine.queuedInputMs > this.highWaterMs) {
        await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      }
    }
    this.engine.flushInput();
  }

  private write(pcm: Int16Array, mode: InputMode): void {
    if (this.isClosed) return;
    if (pcm.length % this.engine.channels !== 0) {
      throw new MediaError('MEDIA_BAD_PCM', 'stereo PCM must hold whole sample pairs');
    }
    this.engine.write(pcm, mode);
  }

  /** Received audio as 20 ms frames. Each call is an independent consumer with its own bounded queue. */
  frames(): AsyncIterable<AudioFrame> {
    const q = new FrameQueue(this.outCapacity);
    if (!this.isClosed) this.subscribers.add(q);
    const done = (): IteratorResult<AudioFrame> => ({ done: true, value: undefined });
    const iterator: AsyncIterator<AudioFrame> = {
      next: () => {
        const f = q.frames.shift();
        if (f) return Promise.resolve({ done: false, value: f });
        if (this.isClosed || !this.subscribers.has(q)) return Promise.resolve(done());
        return new Promise((resolve) => {
          q.waiter = resolve;
        });
      },
      return: () => {
        this.subscribers.delete(q);
        q.frames = [];
        // a next() already waiting (another task's for-await) ends too
        q.waiter?.(done());
        q.waiter = undefined;
        return Promise.resolve(done());
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  /** Input audio queued and not yet sent, ms. */
  get queuedInputMs(): number {
    return this.engine.queuedInputMs;
  }

  mute(): void {
    this.engine.mute();
  }

  unmute(): void {
    this.engine.unmute();
  }

  get muted(): boolean {
    return this.engine.muted;
  }

  /** Negotiated RTP parameters (see `MediaEngine.configureRtp`). */
  configureRtp(params: Parameters<MediaEngine['configureRtp']>[0]): void {
    this.engine.configureRtp(params);
  }

  setRemoteSsrc(ssrc: number): void {
    this.engine.setRemoteSsrc(ssrc);
  }

  getStats(): MediaStats {
    const stats = this.engine.getStats();
    let dropped = this.outDropped;
    for (const q of this.subscribers) dropped += q.dropped;
    stats.outputDroppedFrames = dropped;
    return stats;
  }

  private onTick(nowMs: number): number {
    const r = this.engine.tick(nowMs);
    for (let i = 0; i < r.rtp.length; i += 1) this.send('rtp', r.rtp[i]!);
    for (let i = 0; i < r.rtcp.length; i += 1) this.send('rtcp', r.rtcp[i]!);
    for (let i = 0; i < r.frames.length; i += 1) this.deliver(r.frames[i]!);
    if ((this.pendingWrite || this.drainWaiters.length > 0) && this.engine.queuedInputMs <= this.highWaterMs / 2) this.releaseWriters();
    return this.engine.nextDeadline;
  }

  /** A codec worker finished frames of an earlier tick: they go out now, not at the next tick. */
  private sendEncoded(): void {
    if (this.isClosed) return;
    try {
      const packets = this.engine.collectEncoded(this.now());
      for (let i = 0; i < packets.length; i += 1) this.send('rtp', packets[i]!);
    } catch (err) {
      this.log.warn('sending encoded frames failed', { error: toError(err).message });
    }
  }

  private send(kind: 'rtp' | 'rtcp', packet: Buffer): void {
    try {
      if (kind === 'rtp') this.sink.sendRtp(packet);
      else this.sink.sendRtcp(packet);
    } catch (err) {
      this.sendErrors += 1;
      if (this.sendErrors === 1 || this.sendErrors % 500 === 0) {
        this.log.warn('sink rejected a packet', { kind, count: this.sendErrors, error: toError(err).message });
      }
      if (this.sendErrors === 1) this.emitError(new MediaError('MEDIA_SEND_FAILED', `sink.send${kind === 'rtp' ? 'Rtp' : 'Rtcp'} threw`, { cause: err }));
    }
  }

  private deliver(f: OutputFrame): void {
    // Readable: our own bounded ring, pushed only as fast as the consumer reads (as bytes then).
    if (this.outWanted) {
      this.outWanted = this.output.push(samplesToBuffer(f.pcm));
    } else {
      this.outRing.push(f.pcm);
      if (this.outRing.length > this.outCapacity) {
        this.outRing.shift();
        this.outDropped += 1;
      }
    }

    if (this.subscribers.size > 0) this.deliverFrame(f);

    if (f.voice !== this.voice) {
      this.voice = f.voice;
      safeEmit(this, this.log, f.voice ? 'voiceStart' : 'voiceEnd');
    }
  }

  private deliverFrame(f: OutputFrame): void {
    const frame: AudioFrame = { pcm: f.pcm, timestamp: f.timestamp, voice: f.voice, concealed: f.concealed };
    if (f.rtpTimestamp !== undefined) frame.rtpTimestamp = f.rtpTimestamp;
    for (const q of this.subscribers) {
      if (q.waiter) {
        const w = q.waiter;
        q.waiter = undefined;
        w({ done: false, value: frame });
      } else {
        q.frames.push(frame);
        if (q.frames.length > q.capacity) {
          q.frames.shift();
          q.dropped += 1;
        }
      }
    }
  }

  private readOutput(): void {
    while (this.outRing.length > 0) {
      if (!this.output.push(samplesToBuffer(this.outRing.shift()!))) return;
    }
    this.outWanted = !this.isClosed;
  }

  private writeBytes(chunk: Uint8Array, cb: (err?: Error | null) => void, mode: InputMode): void {
    if (this.isClosed) {
      cb();
      return;
    }
    let bytes = chunk;
    if (this.carry.length > 0) {
      bytes = Buffer.concat([this.carry, chunk]);
      this.carry = new Uint8Array(0);
    }
    const whole = bytes.length - (bytes.length % this.bytesPerSample);
    if (whole < bytes.length) this.carry = bytes.slice(whole);
    if (whole > 0) this.engine.write(bytesToSamples(bytes.subarray(0, whole)), mode);
    // A live source cannot wait: it is never paused, its backlog is cut instead.
    if (mode === 'paced' && this.engine.queuedInputMs > this.highWaterMs && !this.isClosed) {
      this.pendingWrite = () => cb();
    } else {
      cb();
    }
  }

  private releaseWriters(): void {
    const w = this.pendingWrite;
    this.pendingWrite = undefined;
    w?.();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of waiters) r();
  }

  private fail(err: unknown): void {
    this.log.error('media tick failed', { error: toError(err).message });
    this.emitError(new MediaError('MEDIA_TICK_FAILED', toError(err).message, { cause: err }));
  }

  private emitError(err: Error): void {
    // Dropped when nobody listens: a plain 'error' emit would throw from the frame timer.
    safeEmit(this, this.log, 'error', err);
  }
}
