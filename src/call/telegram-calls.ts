/**
 * The entry point: one `TelegramCalls` per Telegram account. Built on a GramJS `TelegramClient`
 * (or a teleproto client, or any `MtprotoClient` such as the fake Telegram's), it places calls
 * with `call(user)` and reports incoming ones through the `incoming` event.
 *
 * ```ts
 * const calls = new TelegramCalls(client);
 * await calls.start();
 * const call = await calls.call('@alice');
 * call.on('emoji', ({ emoji }) => console.log(emoji.join(' ')));
 * await call.whenConnected();
 * await call.playFile('hello.wav');
 * ```
 */
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import type { IceServer } from 'node-datachannel';
import { CallSignalingError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { safeEmit } from '../safe-emit.js';
import { CodecWorkerPool, type MediaSessionOptions } from '../media/index.js';
import {
  gramJsMtproto,
  PhoneCalls,
  type ApiNamespace,
  type CallTimeouts,
  type GramJsClientLike,
  type IncomingCallSignaling,
  type MtprotoClient,
} from '../signaling/index.js';
import { Call, type CallRuntimeOptions } from './call.js';
import {
  checkBindAddress,
  checkCallTarget,
  checkCodecWorkers,
  checkMaxConcurrentCalls,
  checkPortRange,
  checkRelayOnly,
  checkTimeouts,
  directPortsPerCall,
  rangeCapacity,
} from './options-check.js';
import { warmUpCallRuntime } from './warm-up.js';

export interface TelegramCallsOptions {
  /** Receives the library's log records (default: none). Key material is never logged. */
  readonly logger?: Logger;
  /** ICE servers to use instead of the ones Telegram hands out with each call. */
  readonly iceServers?: readonly (string | IceServer)[];
  /**
   * Local address for the media sockets (e.g. '127.0.0.1' for calls on one machine). It pins
   * them to that address: a call does not survive a network change that removes it. Leave it
   * unset for real calls (the wildcard address keeps working from a new address). Must be an IP
   * address of this host (or a wildcard): anything else throws `INVALID_BIND_ADDRESS`.
   */
  readonly bindAddress?: string;
  /**
   * Use only relays — the call's TURN servers and Telegram reflectors — even when the server
   * allows a direct (p2p) connection, as official apps do for `p2p_allowed = false`: no host or
   * server-reflexive address is ever sent to the other phone, which hides our IP address from
   * it. A call with no working relay does not connect. Default false.
   */
  readonly relayOnly?: boolean;
  /**
   * Local UDP port range for the media sockets. Each call takes one port per address family it
   * listens on plus one per UDP relay; `maxConcurrentCalls` is lowered to what the range holds
   * (README "Limits"). A malformed range throws `INVALID_PORT_RANGE`.
   */
  readonly portRange?: { readonly begin: number; readonly end: number };
  /**
   * Timeouts in ms: `ringMs` (unanswered call), `receiveMs` (no answer from the other phone or
   * server), `connectMs` (key exchange done to media connected). Each one given here wins; the
   * others come from the server (`help.getConfig`: `call_ring_timeout_ms`,
   * `call_receive_timeout_ms`, `call_connect_timeout_ms`, read once and cached), and when the
   * server does not answer within a second, from the defaults 90 s / 20 s / 20 s. Each a whole
   * number of ms in 1..24 h (`INVALID_OPTION` otherwise); `receiveMs` also bounds the wait for our
   * user id at `start()` (`START_TIMEOUT`) and for the DH config.
   */
  readonly timeouts?: { readonly ringMs?: number; readonly receiveMs?: number; readonly connectMs?: number };
  /** Audio settings: `channels` (1 default, or 2), `bitrate` (32000), `fec`, `dtx`, `complexity`, jitter buffer. */
  readonly audio?: Partial<Omit<MediaSessionOptions, 'ssrc' | 'payloadType' | 'logger' | 'now'>>;
  /**
   * Worker threads that encode the calls' outgoing audio (Opus), shared by every call of this
   * `TelegramCalls`, each call pinned to the least-loaded one: the JavaScript thread keeps the
   * network, decoding and the application, and a second core takes the encoders (for many calls
   * in one process; one call gains nothing). Started with the first call, stopped when the last
   * one ends, never keeping the process alive. A worker that dies or errors hands its calls back
   * to the JavaScript thread (one warning; no call ends). Default 0: everything on the JavaScript
   * thread. An integer in 0..64 (`INVALID_OPTION` otherwise); ignored when `audio.codec` is given.
   */
  readonly codecWorkers?: number;
  /** Calls that may run at once; further incoming calls are refused as busy. Default 1. */
  readonly maxConcurrentCalls?: number;
  /**
   * `phoneCallProtocol.library_versions` to advertise, preferred first. Default
   * `SUPPORTED_LIBRARY_VERSIONS`, ['8.0.0']: the one version every official app reads the same way
   * (9.0.0 means a reflector transport without ICE/DTLS to one iOS build and SCTP signaling to
   * 2022–23 builds). A call the server puts on 9.0.0 anyway is still run, with a warning. Add
   * '13.0.0' (signaling V3: gzip'd JSON over SCTP, the only version Telegram Web speaks) with e.g.
   * `['13.0.0', '8.0.0']`. Unknown versions throw `UNSUPPORTED_VERSION`; see `KNOWN_LIBRARY_VERSIONS`.
   */
  readonly libraryVersions?: readonly string[];
  /**
   * When the server marks an ended call `need_debug`, send phone.saveCallDebug by itself with a
   * JSON summary of the call's stats (durations, path kind, loss, bytes, versions; never key
   * material, emoji, ICE credentials or addresses). Default true; false leaves it to `call.saveDebug()`.
   */
  readonly autoSaveDebug?: boolean;
  /** For the GramJS adapter: the request namespace of a fork (teleproto's `Api`). */
  readonly api?: ApiNamespace;
}

/** Who to call: a user id, a username / phone (resolved by the client), or an id with its access hash. */
export type CallTarget = bigint | number | string | { readonly userId: bigint; readonly accessHash?: bigint };

export interface TelegramCallsEvents {
  /** A call is ringing here: `call.accept()` or `call.decline()`. */
  incoming: [call: Call];
  error: [error: Error];
}

const DEFAULT_CONNECT_MS = 20_000;
const CONNECT_BACKSTOP_MS = 5_000;

export class TelegramCalls extends EventEmitter<TelegramCallsEvents> {
  private readonly phone: PhoneCalls;
  private readonly mtproto: MtprotoClient;
  private readonly log: Logger;
  private readonly runtime: CallRuntimeOptions;
  private readonly live = new Set<Call>();
  private readonly codecPool: CodecWorkerPool | undefined;
  /**
   * Calls that may run at once: `maxConcurrentCalls` (default 1), lowered to what `portRange`
   * holds (its size divided by the ports each call binds there; see README "Limits").
   */
  readonly maxConcurrentCalls: number;

  constructor(client: MtprotoClient | GramJsClientLike, options: TelegramCallsOptions = {}) {
    super();
    this.log = options.logger ?? silentLogger;
    this.mtproto = isMtprotoClient(client)
      ? client
      : gramJsMtproto(client, { logger: this.log.child('gramjs'), ...(options.api ? { api: options.api } : {}) });
    // Refused here with a typed error rather than failing each call later (issue 15 defects 1, 7).
    const timeouts = checkTimeouts(options.timeouts);
    const interfaces = networkInterfaces();
    const bindAddress = checkBindAddress(options.bindAddress, interfaces);
    const portRange = checkPortRange(options.portRange);
    const relayOnly = checkRelayOnly(options.relayOnly);
    const codecWorkers = checkCodecWorkers(options.codecWorkers);
    let audio = options.audio ?? {};
    if (codecWorkers > 0 && audio.codec) {
      this.log.warn('codecWorkers ignored: audio.codec is given (workers run the default libopus only)', { codecWorkers });
    } else if (codecWorkers > 0) {
      this.codecPool = new CodecWorkerPool({ workers: codecWorkers, logger: this.log.child('codec-workers') });
      audio = { ...audio, codec: this.codecPool.codec };
    }
    let maxConcurrentCalls = checkMaxConcurrentCalls(options.maxConcurrentCalls) ?? 1;
    if (portRange) {
      // Each call binds its direct socket(s) in the range: more calls than that cannot all connect.
      const capacity = rangeCapacity(portRange, directPortsPerCall(bindAddress, interfaces));
      if (capacity < maxConcurrentCalls) {
        this.log.warn('maxConcurrentCalls lowered to what portRange holds', { maxConcurrentCalls, capacity, portRange });
        maxConcurrentCalls = capacity;
      }
    }
    this.maxConcurrentCalls = maxConcurrentCalls;
    this.phone = new PhoneCalls({
      mtproto: this.mtproto,
      logger: this.log.child('signaling'),
      timeouts: {
        ...(timeouts.ringMs !== undefined ? { ringMs: timeouts.ringMs } : {}),
        ...(timeouts.receiveMs !== undefined ? { receiveMs: timeouts.receiveMs } : {}),
        ...(timeouts.connectMs !== undefined ? { connectMs: timeouts.connectMs } : {}),
      },
      // InstanceV2's fixed connection timeout (official-clients.md §3) when the server says nothing.
      fallbackTimeouts: { connectMs: DEFAULT_CONNECT_MS },
      // The transport (given connectMs as is) ends the call first with its precise reason; the
      // signaling machine's deadline is the backstop.
      connectBackstopMs: CONNECT_BACKSTOP_MS,
      maxConcurrentCalls,
      ...(options.libraryVersions !== undefined ? { libraryVersions: options.libraryVersions } : {}),
    });
    this.runtime = {
      logger: this.log,
      audio,
      ...(options.autoSaveDebug !== undefined ? { autoSaveDebug: options.autoSaveDebug } : {}),
      ...(options.iceServers ? { iceServers: options.iceServers } : {}),
      ...(bindAddress !== undefined ? { bindAddress } : {}),
      ...(portRange ? { portRange } : {}),
      ...(relayOnly ? { relayOnly } : {}),
    };
    this.phone.on('incoming', (signaling) => this.onIncoming(signaling));
  }

  /** Our own user id once started. */
  get userId(): bigint | undefined {
    return this.phone.userId;
  }

  /** Calls that have not ended. */
  get calls(): readonly Call[] {
    return [...this.live];
  }

  /**
   * Subscribes to updates and learns our user id. Idempotent. Also starts, in the background, the
   * process's one-time WebRTC and Opus setup, so the first call does not wait for it.
   */
  async start(): Promise<void> {
    await this.phone.start();
    warmUpCallRuntime(this.log);
  }

  /**
   * Calls `user`. Resolves as soon as the call exists (state `requesting`/`waiting`); follow it
   * with `call.whenConnected()` or the events. Rejects with a typed error when the call cannot be
   * placed (already in a call, user not found).
   */
  async call(user: CallTarget): Promise<Call> {
    const target = checkCallTarget(user);
    await this.start();
    const { userId, accessHash } = target.kind === 'id' ? target : await this.resolveName(target.name);
    const signaling = await this.phone.call(userId, accessHash !== undefined ? { accessHash } : {});
    return this.track(new Call(signaling, this.runtime));
  }

  /** Hangs up every call and stops listening for updates. */
  async stop(): Promise<void> {
    const calls = [...this.live];
    await Promise.all(calls.map((call) => call.hangup().catch(() => undefined)));
    await this.phone.stop();
    // Idle codec workers wait for the next call (CodecWorkerPool idleMs); stop() ends them now.
    await this.codecPool?.close();
  }

  private async resolveName(name: string): Promise<{ userId: bigint; accessHash: bigint | undefined }> {
    if (!this.mtproto.resolveUser) throw new CallSignalingError('USER_NOT_RESOLVABLE', 'this client cannot resolve usernames');
    return this.mtproto.resolveUser(name);
  }

  private onIncoming(signaling: IncomingCallSignaling): void {
    const call = this.track(new Call(signaling, this.runtime));
    if (this.listenerCount('incoming') === 0) {
      this.log.info('incoming call with no listener: declined');
      void call.decline().catch(() => undefined);
      return;
    }
    safeEmit(this, this.log, 'incoming', call);
  }

  private track(call: Call): Call {
    this.live.add(call);
    void call.whenEnded().then(() => this.live.delete(call));
    return call;
  }
}

function isMtprotoClient(client: MtprotoClient | GramJsClientLike): client is MtprotoClient {
  return typeof (client as MtprotoClient).getSelfUserId === 'function' && typeof (client as MtprotoClient).onUpdate === 'function';
}

export type { CallTimeouts };
