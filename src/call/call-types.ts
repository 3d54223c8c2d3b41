/**
 * The public shapes of a call: its states, emoji, stats, events, recorder and audio surface, and
 * the options TelegramCalls gives each call.
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../logger.js';
import type { AudioFrame, MediaSessionOptions, MediaStats, PlayOptions } from '../media/index.js';
import type { CallDirection, CallEndInfo } from '../signaling/index.js';
import type { MediaState } from '../transport/index.js';
import type { CallSession, CallSessionStats } from './call-session.js';

/**
 * `requesting` → (`waiting` →) `ringing` → `accepting` / `exchanging-keys` → `connecting` →
 * `connected` → `ending` → `ended`. A call can end from any state.
 */
export type CallState =
  | 'requesting'
  | 'waiting'
  | 'ringing'
  | 'accepting'
  | 'exchanging-keys'
  | 'connecting'
  | 'connected'
  | 'ending'
  | 'ended';

export interface CallEmoji {
  /** The 4 emoji both sides show; equal on both phones when nobody is in the middle. */
  readonly emoji: readonly string[];
  readonly indices: readonly number[];
  /** The TL key_fingerprint (signed int64). */
  readonly keyFingerprint: bigint;
}



export interface CallStats {
  readonly state: CallState;
  readonly direction: CallDirection;
  readonly version: string | undefined;
  /** ms from the start of the connection to connected. */
  readonly connectMs: number | undefined;
  readonly connection: CallSessionStats | undefined;
  readonly media: MediaStats;
}

export interface CallEvents {
  state: [state: CallState];
  /** Outgoing: the other phone rings. Incoming: the call rings here (answer with `accept()`). */
  ringing: [];
  /** Keys are agreed: show these to the user for verification. */
  emoji: [emoji: CallEmoji];
  connected: [];
  remoteMediaState: [state: MediaState];
  /** The other side started talking (voice activity in what we receive). */
  voiceStart: [];
  /** The other side stopped talking. */
  voiceEnd: [];
  ended: [info: CallEndInfo];
  error: [error: Error];
}

/** @internal how TelegramCalls configures each call. */
export interface CallRuntimeOptions {
  readonly logger: Logger;
  readonly audio: Partial<Omit<MediaSessionOptions, 'ssrc' | 'payloadType' | 'logger'>>;
  readonly iceServers?: ConstructorParameters<typeof CallSession>[0]['iceServers'];
  readonly bindAddress?: string;
  readonly portRange?: { readonly begin: number; readonly end: number };
  /** Overrides the call's own connect timeout (`signaling.timeouts.connectMs`). */
  readonly connectTimeoutMs?: number;
  /** Relays only (TURN, Telegram reflectors) even when the call allows p2p. */
  readonly relayOnly?: boolean;
  /** Send phone.saveCallDebug by itself when the server asks (`needDebug`). Default true. */
  readonly autoSaveDebug?: boolean;
}

export interface CallRecorder {
  readonly path: string;
  /** Stops recording and finishes the file; resolves with the recorded duration (ms). */
  stop(): Promise<number>;
  /** Resolves when the recording ended (stopped or the call ended) and the file is complete. */
  readonly done: Promise<number>;
}

/** Audio of a call: PCM s16le 48 kHz (mono unless configured), as streams and async iterables. */
export interface CallAudio {
  /**
   * What we say, live (a microphone, a bridge): never paused, latency bounded (a backlog is cut).
   * Silence is sent when nothing is written. `audio.inputMode: 'paced'` makes it lossless with backpressure.
   */
  readonly input: Writable;
  /** What the other side says: continuous PCM (silence or concealment on gaps). */
  readonly output: Readable;
  /** What the other side says, as 20 ms frames with a voice-activity flag. */
  frames(): AsyncIterable<AudioFrame>;
  /** Sends PCM from an iterable, every sample, paced (`{ live: true }`: bounded latency instead); resolves when it has been queued. */
  play(source: AsyncIterable<Uint8Array | Int16Array> | Iterable<Uint8Array | Int16Array>, options?: PlayOptions): Promise<void>;
  /** Sends one chunk of samples, live like `input`. */
  pushFrame(pcm: Int16Array): void;
}
