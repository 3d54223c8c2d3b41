/**
 * A Telegram 1:1 voice call, outgoing or incoming: the public object applications use.
 *
 * It follows the call's signaling (ringing, key exchange, end), then drives the connection
 * (encrypted signaling channel, WebRTC transport, Opus audio) and exposes audio as Node streams
 * and async iterables. Nothing is thrown into the host from events: failures end the call with a
 * reason and an `error` in the `ended` info.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CallSignalingError, TgCallError, toError } from '../errors.js';
import { safeEmit } from '../safe-emit.js';
import type { Logger } from '../logger.js';
import { MediaSession, openWavStream, WavFileWriter } from '../media/index.js';
import type { CallDirection, CallEndInfo, CallReadyInfo, CallSignaling, IncomingCallSignaling } from '../signaling/index.js';
import { endedError } from '../signaling/call-signaling.js';
import { OPUS_PAYLOAD_TYPE } from '../transport/index.js';
import { callDebugReport } from './call-debug-report.js';
import { CallSession } from './call-session.js';
import type { CallAudio, CallEmoji, CallEvents, CallRecorder, CallRuntimeOptions, CallState, CallStats } from './call-types.js';

export type { CallAudio, CallEmoji, CallEvents, CallRecorder, CallRuntimeOptions, CallState, CallStats } from './call-types.js';
export type { CallDirection, CallEndInfo };

export class Call extends EventEmitter<CallEvents> {
  readonly direction: CallDirection;
  readonly audio: CallAudio;

  private readonly signaling: CallSignaling;
  private readonly runtime: CallRuntimeOptions;
  private readonly log: Logger;
  private readonly media: MediaSession;
  private readonly ssrc: number;
  private session: CallSession | undefined;
  private currentState: CallState;
  private emojiInfo: CallEmoji | undefined;
  private ready: CallReadyInfo | undefined;
  private endInfo: CallEndInfo | undefined;
  private isMuted = false;
  private connectStartedAt: number | undefined;
  private connectMs: number | undefined;
  private readonly connectedWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly endedWaiters: ((info: CallEndInfo) => void)[] = [];
  private readonly recorders = new Set<Promise<number>>();

  /** @internal created by `TelegramCalls`. */
  constructor(signaling: CallSignaling, runtime: CallRuntimeOptions) {
    super();
    this.signaling = signaling;
    this.runtime = runtime;
    this.direction = signaling.direction;
    this.log = runtime.logger.child(`call:${this.direction}`);
    this.currentState = mapSignalingState(signaling.state) ?? 'requesting';
    this.ssrc = randomInt(1, 0x1_0000_0000);
    // The payload type tgcalls offers Opus with (the peer's, until negotiated, is assumed the same).
    this.media = new MediaSession({ ...runtime.audio, ssrc: this.ssrc, payloadType: OPUS_PAYLOAD_TYPE, logger: this.log.child('media') }, {
      sendRtp: (packet) => this.session?.sendRtp(packet),
      sendRtcp: (packet) => this.session?.sendRtcp(packet),
    });
    this.media.on('voiceStart', () => safeEmit(this, this.log, 'voiceStart'));
    this.media.on('voiceEnd', () => safeEmit(this, this.log, 'voiceEnd'));
    this.media.on('error', (err) => this.log.warn('media error', { error: err.message }));
    const media = this.media;
    this.audio = {
      input: media.input,
      output: media.output,
      frames: () => media.frames(),
      play: (source, options) => media.play(source, options),
      pushFrame: (pcm) => media.pushFrame(pcm),
    };

    signaling.on('state', (state) => {
      const mapped = mapSignalingState(state);
      if (mapped && mapped !== 'connecting') this.setState(mapped);
    });
    signaling.on('ringing', () => safeEmit(this, this.log, 'ringing'));
    signaling.on('ready', (info) => this.onReady(info));
    signaling.on('ended', (info) => void this.onEnded(info));
    if (signaling.readyInfo) this.onReady(signaling.readyInfo);
    if (signaling.endInfo) void this.onEnded(signaling.endInfo);
  }

  get state(): CallState {
    return this.currentState;
  }

  /** The call id once the server assigned it. */
  get id(): bigint | undefined {
    return this.signaling.callId;
  }

  get peerUserId(): bigint {
    return this.signaling.peerUserId;
  }

  /** Set once keys are agreed. */
  get emoji(): CallEmoji | undefined {
    return this.emojiInfo;
  }

  /** The negotiated library version once keys are agreed. */
  get version(): string | undefined {
    return this.ready?.version;
  }

  get muted(): boolean {
    return this.isMuted;
  }

  /** Set once the call ended. */
  get ended(): CallEndInfo | undefined {
    return this.endInfo;
  }

  /**
   * Answers an incoming call. Resolves when the call is connected; rejects with a `TgCallError`
   * when it ends first.
   */
  async accept(): Promise<void> {
    if (this.direction !== 'incoming') throw new CallSignalingError('BAD_STATE', 'only incoming calls can be accepted');
    (this.signaling as IncomingCallSignaling).accept();
    return this.whenConnected();
  }

  /** Refuses an incoming call (reason `busy`, as official clients). Resolves when it ended. */
  async decline(): Promise<CallEndInfo> {
    if (this.direction !== 'incoming') throw new CallSignalingError('BAD_STATE', 'only incoming calls can be declined');
    (this.signaling as IncomingCallSignaling).decline();
    return this.whenEnded();
  }

  /** Ends the call (reason `hangup`; `missed` while an outgoing call is still ringing). */
  async hangup(): Promise<CallEndInfo> {
    this.signaling.hangup();
    return this.whenEnded();
  }

  /** Stops sending our audio (silence is sent) and tells the other side we are muted. */
  mute(): void {
    this.setMuted(true);
  }

  unmute(): void {
    this.setMuted(false);
  }

  /** Resolves when connected; rejects if the call ends first. */
  whenConnected(): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    if (this.endInfo) return Promise.reject(endedError(this.endInfo));
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  /** Resolves with the end info once the call has ended and released its resources. */
  whenEnded(): Promise<CallEndInfo> {
    if (this.endInfo && this.currentState === 'ended') return Promise.resolve(this.endInfo);
    return new Promise((resolve) => this.endedWaiters.push(resolve));
  }

  /**
   * Plays a WAV file (any common rate, mono or stereo; converted to 48 kHz). The file is read
   * piece by piece while it plays (memory does not grow with its length). Resolves when the last
   * of it has been queued for sending, or when the call ends (the file is closed then). Rejects
   * with a `MediaError`: `WAV_NOT_FILE` (not a regular file: a directory, /dev/zero, a FIFO),
   * `WAV_TOO_LONG` (more than `maxDurationMs`, default 4 h), or the `WAV_*` code of a bad file.
   */
  async playFile(path: string, options: { readonly maxDurationMs?: number } = {}): Promise<void> {
    const stream = await openWavStream(path, {
      channels: this.runtime.audio.channels ?? 1,
      ...(options.maxDurationMs !== undefined ? { maxDurationMs: options.maxDurationMs } : {}),
    });
    try {
      await this.media.play(stream);
    } finally {
      await stream.close();
    }
  }

  /** Records what the other side says into a 16-bit 48 kHz WAV file until stopped or the call ends. */
  async record(path: string): Promise<CallRecorder> {
    const channels = this.runtime.audio.channels ?? 1;
    const writer = await WavFileWriter.create(path, 48000, channels);
    const frames = this.media.frames()[Symbol.asyncIterator]();
    let stopped = false;
    const done = (async () => {
      try {
        for (;;) {
          const next = await frames.next();
          if (next.done || stopped) break;
          writer.write(next.value.pcm);
        }
      } finally {
        await writer.close();
      }
      return writer.durationMs;
    })();
    this.recorders.add(done);
    void done.finally(() => this.recorders.delete(done)).catch(() => undefined);
    return {
      path,
      done,
      stop: async () => {
        stopped = true;
        await frames.return?.();
        return done;
      },
    };
  }

  getStats(): CallStats {
    return {
      state: this.currentState,
      direction: this.direction,
      version: this.ready?.version,
      connectMs: this.connectMs,
      connection: this.session?.getStats(),
      media: this.media.getStats(),
    };
  }

  /** phone.setCallRating after the call (when `ended.needRating`). */
  setRating(rating: number, comment?: string): Promise<void> {
    return this.signaling.setCallRating(rating, comment);
  }

  /** phone.saveCallDebug (when `ended.needDebug`). */
  saveDebug(json: string): Promise<void> {
    return this.signaling.saveCallDebug(json);
  }

  // ---------------------------------------------------------------------------------------------

  /** The call owns the mute flag; the session (once it exists) forwards it to the media and the peer. */
  private setMuted(muted: boolean): void {
    this.isMuted = muted;
    if (this.session) this.session.setMuted(muted);
    else if (muted) this.media.mute();
    else this.media.unmute();
  }

  private onReady(info: CallReadyInfo): void {
    if (this.ready || this.endInfo) return;
    this.ready = info;
    this.emojiInfo = { emoji: info.emoji, indices: info.emojiIndices, keyFingerprint: info.keyFingerprint };
    this.setState('connecting');
    safeEmit(this, this.log, 'emoji', this.emojiInfo);
    try {
      const session = new CallSession({
        ready: info,
        media: this.media,
        ssrc: this.ssrc,
        sendSignalingData: (data) => {
          this.signaling.sendSignalingData(data);
        },
        logger: this.log,
        muted: this.isMuted,
        ...(this.runtime.iceServers ? { iceServers: this.runtime.iceServers } : {}),
        ...(this.runtime.bindAddress !== undefined ? { bindAddress: this.runtime.bindAddress } : {}),
        ...(this.runtime.portRange ? { portRange: this.runtime.portRange } : {}),
        ...connectTimeout(this.runtime.connectTimeoutMs ?? this.signaling.timeouts.connectMs),
        ...(this.runtime.relayOnly ? { relayOnly: true } : {}),
      });
      this.session = session;
      session.on('connected', () => this.onConnected());
      session.on('remoteMediaState', (state) => safeEmit(this, this.log, 'remoteMediaState', state));
      session.on('failed', (error) => this.signaling.fail(error));
      this.signaling.on('signalingData', (data) => session.receiveSignalingData(data));
      this.connectStartedAt = performance.now();
      session.start();
    } catch (err) {
      const error = err instanceof TgCallError ? err : new CallSignalingError('CONNECTION_SETUP_FAILED', toError(err).message);
      this.log.error('call session setup failed', { error: error.message });
      this.signaling.fail(error);
    }
  }

  private onConnected(): void {
    if (this.endInfo || this.currentState === 'connected') return;
    if (this.connectStartedAt !== undefined) this.connectMs = performance.now() - this.connectStartedAt;
    this.signaling.markConnected();
    this.setState('connected');
    safeEmit(this, this.log, 'connected');
    for (const waiter of this.connectedWaiters.splice(0)) waiter.resolve();
  }

  private async onEnded(info: CallEndInfo): Promise<void> {
    if (this.endInfo) return;
    this.endInfo = info;
    if (this.currentState !== 'ending') this.setState('ending');
    for (const waiter of this.connectedWaiters.splice(0)) waiter.reject(endedError(info));
    // Taken before the session is released: the route is known only while it is open.
    const debugStats = info.needDebug && this.runtime.autoSaveDebug !== false ? this.getStats() : undefined;
    try {
      if (this.session) await this.session.close();
      else this.media.close();
      await Promise.allSettled([...this.recorders]);
    } catch (err) {
      this.log.warn('error while releasing the call', { error: toError(err).message });
    }
    this.setState('ended');
    this.log.info('ended', { reason: info.reason, by: info.by, duration: info.duration, code: info.error?.code, ...(info.slug ? { slug: info.slug } : {}) });
    if (debugStats) this.sendDebugReport(debugStats, info);
    safeEmit(this, this.log, 'ended', info);
    for (const waiter of this.endedWaiters.splice(0)) waiter(info);
  }

  /**
   * The server asked for debug data (`need_debug`): phone.saveCallDebug with a stats summary
   * (call-debug-report.ts), in the background; a failure is logged, the call is over either way.
   */
  private sendDebugReport(stats: CallStats, info: CallEndInfo): void {
    let json: string;
    try {
      json = JSON.stringify(callDebugReport(stats, info));
    } catch (err) {
      this.log.warn('call debug report not built', { error: toError(err).message });
      return;
    }
    this.signaling.saveCallDebug(json).then(
      () => this.log.debug('call debug report sent', { bytes: json.length }),
      (err: unknown) => this.log.info('call debug report not accepted', { error: toError(err).message }),
    );
  }

  private setState(state: CallState): void {
    if (state === this.currentState) return;
    if (this.currentState === 'ended') return;
    this.currentState = state;
    safeEmit(this, this.log, 'state', state);
  }
}

/** The transport's connect timeout: the call's (0 means none here: the transport keeps its own). */
function connectTimeout(ms: number): { connectTimeoutMs?: number } {
  return ms > 0 ? { connectTimeoutMs: ms } : {};
}

function mapSignalingState(state: CallSignaling['state']): CallState | undefined {
  switch (state) {
    case 'ready':
      return 'connecting';
    case 'ending':
    case 'ended':
      return 'ending';
    default:
      return state;
  }
}
