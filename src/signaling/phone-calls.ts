/**
 * The call lifecycle over MTProto for one account: places calls, turns phoneCallRequested updates
 * into `incoming` events, routes every phone update to its call by id, and rejects calls while
 * busy. Updates for unknown call ids are counted and held briefly (bounded), because a call's first
 * updates can overtake the result that tells us its id.
 */
import { EventEmitter } from 'node:events';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { Api } from 'telegram';
import { CallSignalingError, CallTimeoutError, toError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { safeEmit } from '../safe-emit.js';
import type { RandomBytes } from '../crypto/dh.js';
import { SUPPORTED_LIBRARY_VERSIONS, validateLibraryVersions } from '../crypto/signaling-versions.js';
import { CallMachine } from './call-machine.js';
import type { CallDirection } from './call-types.js';
import { CallSignaling, IncomingCallSignaling, OutgoingCallSignaling } from './call-signaling.js';
import { DEFAULT_CALL_TIMEOUTS, resolveCallTimeouts, type CallTimeouts } from './call-timeouts.js';
import { DhConfigCache } from './dh-config-cache.js';
import { ServerCallConfig, type ServerCallTimeouts } from './server-call-config.js';
import { unwrapUpdates, type ApiNamespace, type MtprotoClient } from './mtproto.js';
import { decodePhoneUpdate, type CallProtocolRecord, type PhoneCallRecord, type PhoneUpdate } from './phone-call-record.js';
import { buildRequest } from './request-builder.js';
import type { SignalingInboxLimits } from './signaling-inbox.js';
import type { SignalingRetryPolicy } from './signaling-send-queue.js';

/** tdesktop `kMinLayer` and tgcalls `Meta::MaxLayer()` (call-crypto-and-signaling.md §8). */
export const CALL_MIN_LAYER = 65;
export const CALL_MAX_LAYER = 92;

export interface PhoneCallsOptions {
  readonly mtproto: MtprotoClient;
  readonly logger?: Logger;
  /** Explicit deadlines: they win over the server's (`help.getConfig`) and the defaults. */
  readonly timeouts?: Partial<CallTimeouts>;
  /** Deadlines used when neither `timeouts` nor the server give one. Default `DEFAULT_CALL_TIMEOUTS`. */
  readonly fallbackTimeouts?: Partial<CallTimeouts>;
  /**
   * Read the call timeouts from `help.getConfig` (cached per account, server-call-config.ts).
   * Default true. `waitMs`: longest an outgoing call waits for it (default 1 000).
   */
  readonly serverConfig?: boolean | { readonly waitMs?: number };
  /**
   * Added to the connect deadline of the signaling machine only, so the layer that owns the
   * connection (the transport, given `timeouts.connectMs` as is) ends the call first with its
   * more precise reason. Default 0.
   */
  readonly connectBackstopMs?: number;
  /** Advertised `library_versions`, preferred first. Default `SUPPORTED_LIBRARY_VERSIONS`; see `KNOWN_LIBRARY_VERSIONS`. */
  readonly libraryVersions?: readonly string[];
  /** Calls that may be active at once; one more incoming call is discarded with `busy`. Default 1. */
  readonly maxConcurrentCalls?: number;
  readonly signalingRetry?: Partial<SignalingRetryPolicy>;
  readonly inboxLimits?: SignalingInboxLimits;
  /** Injected for tests. */
  readonly randomBytes?: RandomBytes;
  readonly now?: () => number;
}

export interface PlaceCallOptions {
  /** The callee's user access_hash; without it GramJS resolves the id from its entity cache. */
  readonly accessHash?: bigint;
}

export interface PhoneCallsStats {
  /** Phone updates whose call id matched no call (held briefly, then dropped). */
  unknownCallUpdates: number;
  /** Phone updates that failed to decode. */
  malformedUpdates: number;
  /** phoneCallRequested not addressed to us, from ourselves, or too old (tdesktop rules). */
  ignoredIncoming: number;
  /** Incoming calls discarded with `busy` because we were in another call. */
  busyRejected: number;
  /** Incoming calls that failed validation (e.g. g_a_hash length) and were discarded. */
  rejectedIncoming: number;
}

export interface PhoneCallsEvents {
  /** A call rings here: `accept()` or `decline()` it. Without a listener it rings until its timeout. */
  incoming: [call: IncomingCallSignaling];
}

interface HeldUpdate {
  readonly id: bigint;
  readonly update: PhoneUpdate;
  readonly at: number;
}

const HELD_LIMIT = 64;
const SERVER_CONFIG_WAIT_MS = 1_000;
const SERVER_CONFIG_RETRY_MS = 60_000;
const HELD_TTL_MS = 30_000;
const RECENT_LIMIT = 64;
const REQUESTED_DATE_SLACK_MS = 1_000;

export class PhoneCalls extends EventEmitter<PhoneCallsEvents> {
  private readonly counters: PhoneCallsStats = { unknownCallUpdates: 0, malformedUpdates: 0, ignoredIncoming: 0, busyRejected: 0, rejectedIncoming: 0 };
  private readonly explicitTimeouts: Partial<CallTimeouts>;
  private readonly fallbackTimeouts: CallTimeouts;
  private readonly serverConfig: ServerCallConfig | undefined;
  private readonly connectBackstopMs: number;

  private readonly mtproto: MtprotoClient;
  private readonly api: ApiNamespace;
  private readonly logger: Logger;
  private readonly protocol: CallProtocolRecord;
  private readonly maxConcurrent: number;
  private readonly randomBytes: RandomBytes;
  private readonly now: () => number;
  private readonly dhCache = new DhConfigCache();
  private readonly active = new Set<CallSignaling>();
  private readonly byId = new Map<bigint, CallSignaling>();
  /** Ended or refused call ids, so their late updates are not counted as unknown. */
  private readonly recent = new Map<bigint, CallSignaling | null>();
  private held: HeldUpdate[] = [];
  private selfId: bigint | undefined;
  private unsubscribe: (() => void) | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly options: PhoneCallsOptions) {
    super();
    this.mtproto = options.mtproto;
    this.api = options.mtproto.api ?? Api;
    this.logger = options.logger ?? silentLogger;
    // Checked here (RangeError) so a bad option fails at construction, not at the first call.
    resolveCallTimeouts(options.timeouts);
    this.explicitTimeouts = { ...options.timeouts };
    this.fallbackTimeouts = resolveCallTimeouts(options.fallbackTimeouts);
    this.connectBackstopMs = options.connectBackstopMs ?? 0;
    const server = options.serverConfig ?? true;
    this.serverConfig =
      server === false
        ? undefined
        : new ServerCallConfig({
            fetch: () => this.mtproto.invoke(new this.api.help.GetConfig()),
            now: options.now ?? Date.now,
            logger: this.logger,
            waitMs: (typeof server === 'object' ? server.waitMs : undefined) ?? SERVER_CONFIG_WAIT_MS,
            retryMs: SERVER_CONFIG_RETRY_MS,
          });
    // Typed error (INVALID_LIBRARY_VERSIONS / UNSUPPORTED_VERSION) for an empty or unknown list.
    const versions = validateLibraryVersions(options.libraryVersions ?? SUPPORTED_LIBRARY_VERSIONS);
    this.protocol = { udpP2p: true, udpReflector: true, minLayer: CALL_MIN_LAYER, maxLayer: CALL_MAX_LAYER, libraryVersions: [...versions] };
    const max = options.maxConcurrentCalls ?? 1;
    if (!Number.isInteger(max) || max < 1) throw new CallSignalingError('INVALID_OPTION', `maxConcurrentCalls must be an integer >= 1, got ${String(max)}`);
    this.maxConcurrent = max;
    this.randomBytes = options.randomBytes ?? nodeRandomBytes;
    this.now = options.now ?? Date.now;
  }

  /** Calls that have not ended yet. */
  get calls(): readonly CallSignaling[] {
    return [...this.active];
  }

  get userId(): bigint | undefined {
    return this.selfId;
  }

  /**
   * The deadlines a call placed or received now gets: `timeouts`, else the server's
   * (help.getConfig, once known), else `fallbackTimeouts`.
   */
  get timeouts(): CallTimeouts {
    const server = this.serverConfig?.current;
    const fromServer: Partial<CallTimeouts> = server
      ? {
          ...(server.receiveMs !== undefined ? { receiveMs: server.receiveMs } : {}),
          ...(server.ringMs !== undefined ? { ringMs: server.ringMs } : {}),
          ...(server.connectMs !== undefined ? { connectMs: server.connectMs } : {}),
        }
      : {};
    const pick = (key: keyof CallTimeouts): number => this.explicitTimeouts[key] ?? fromServer[key] ?? this.fallbackTimeouts[key];
    return { receiveMs: pick('receiveMs'), ringMs: pick('ringMs'), connectMs: pick('connectMs'), hangupMs: pick('hangupMs') };
  }

  /** What help.getConfig said (undefined before it answered, or when it failed or is off). */
  get serverTimeouts(): ServerCallTimeouts | undefined {
    return this.serverConfig?.current;
  }

  getStats(): PhoneCallsStats {
    return { ...this.counters };
  }

  /**
   * Learns our user id and subscribes to updates. Idempotent. Rejects with `START_TIMEOUT` when
   * the client does not tell our user id within `receiveMs` (default 20 s, also when 0): a client
   * that never connects must not hang `start()` / `call()` forever (issue 15 defect 2). A failed
   * start can be retried.
   */
  start(): Promise<void> {
    this.starting ??= this.learnSelf().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async learnSelf(): Promise<void> {
    const ms = this.timeouts.receiveMs > 0 ? this.timeouts.receiveMs : DEFAULT_CALL_TIMEOUTS.receiveMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeoutError('START_TIMEOUT', `the Telegram client did not tell our user id within ${ms} ms`)), ms);
    });
    try {
      const self = await Promise.race([Promise.resolve().then(() => this.mtproto.getSelfUserId()), timeout]);
      if (typeof self !== 'bigint') throw new CallSignalingError('INTERNAL_ERROR', `getSelfUserId() gave ${typeof self}, not a bigint`);
      this.selfId = self;
    } finally {
      clearTimeout(timer);
    }
    this.unsubscribe = this.mtproto.onUpdate((update) => this.onUpdate(update));
    // In the background: an incoming call uses what is known when it rings.
    this.serverConfig?.refresh();
  }

  /** Hangs up every active call, waits (bounded by the hang-up timeout) for them to end, unsubscribes. */
  async stop(): Promise<void> {
    const calls = [...this.active];
    for (const call of calls) call.hangup();
    await Promise.all(calls.map((c) => c.whenEnded()));
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.starting = undefined;
    this.held = [];
  }

  /** Places a call. The returned object reports progress through its events. */
  async call(userId: bigint, options: PlaceCallOptions = {}): Promise<OutgoingCallSignaling> {
    await this.start();
    if (this.active.size >= this.maxConcurrent) throw new CallSignalingError('ALREADY_IN_CALL', 'another call is in progress');
    // Bounded: a slow or failing help.getConfig leaves the fallback deadlines.
    await this.serverConfig?.settle();
    if (this.active.size >= this.maxConcurrent) throw new CallSignalingError('ALREADY_IN_CALL', 'another call is in progress');
    const timeouts = this.timeouts;
    const machine = this.newMachine('outgoing', userId, options.accessHash, timeouts);
    const call = new OutgoingCallSignaling(this.callDeps(machine, timeouts));
    this.active.add(call);
    call._run((m, now) => m.startOutgoing(now));
    return call;
  }

  // ---- update routing ------------------------------------------------------------------------

  private onUpdate(raw: unknown): void {
    let items: unknown[];
    try {
      items = unwrapUpdates(raw);
    } catch {
      this.counters.malformedUpdates++;
      return;
    }
    for (const item of items) {
      try {
        this.dispatch(item);
      } catch (err) {
        this.logger.error('phone update handling failed', { error: toError(err).message });
      }
    }
  }

  private dispatch(item: unknown): void {
    let update: PhoneUpdate | undefined;
    try {
      update = decodePhoneUpdate(item);
    } catch {
      this.counters.malformedUpdates++;
      return;
    }
    if (!update) return;
    this.route(update);
  }

  private route(update: PhoneUpdate): void {
    const id = update.kind === 'signaling' ? update.callId : update.call.id;
    const call = this.byId.get(id) ?? this.recent.get(id);
    if (call) {
      if (update.kind === 'signaling') call._handleSignalingData(update.data);
      else call._handleCall(update.call);
      return;
    }
    if (call === null) return; // a call we refused; its echoes are expected
    if (update.kind === 'call' && update.call.kind === 'requested') {
      this.onRequested(update.call);
      return;
    }
    this.counters.unknownCallUpdates++;
    this.hold(id, update);
  }

  private onRequested(call: Extract<PhoneCallRecord, { kind: 'requested' }>): void {
    const self = this.selfId;
    const now = this.now();
    // tdesktop `Instance::handleCallUpdate`: not for us, from ourselves, or older than the ring timeout.
    const ringMs = this.timeouts.ringMs;
    if (self === undefined || call.participantId !== self || call.adminId === self) {
      this.counters.ignoredIncoming++;
      return;
    }
    if (ringMs > 0 && now - call.date * 1000 > ringMs + REQUESTED_DATE_SLACK_MS) {
      this.counters.ignoredIncoming++;
      return;
    }
    if (this.active.size >= this.maxConcurrent) {
      this.counters.busyRejected++;
      this.remember(call.id, null);
      const request = buildRequest(this.api, {
        method: 'discardCall',
        peer: { id: call.id, accessHash: call.accessHash },
        duration: 0,
        reason: 'busy',
        video: call.video,
      });
      Promise.resolve()
        .then(() => this.mtproto.invoke(request))
        .catch((err: unknown) => this.logger.warn('busy discard failed', { error: toError(err).message }));
      return;
    }
    this.serverConfig?.refresh();
    const timeouts = this.timeouts;
    const machine = this.newMachine('incoming', call.adminId, undefined, timeouts);
    const incoming = new IncomingCallSignaling(this.callDeps(machine, timeouts));
    this.active.add(incoming);
    incoming._run((m, t) => m.startIncoming(call, t));
    if (incoming.state === 'ringing') {
      safeEmit(this, this.logger, 'incoming', incoming);
    } else {
      this.counters.rejectedIncoming++;
      this.logger.warn('incoming call rejected', { error: incoming.endInfo?.error?.code });
    }
  }

  private hold(id: bigint, update: PhoneUpdate): void {
    const now = this.now();
    this.held = this.held.filter((h) => now - h.at <= HELD_TTL_MS);
    this.held.push({ id, update, at: now });
    if (this.held.length > HELD_LIMIT) this.held.splice(0, this.held.length - HELD_LIMIT);
  }

  private onBound(call: CallSignaling, id: bigint): void {
    this.byId.set(id, call);
    const mine = this.held.filter((h) => h.id === id);
    if (mine.length === 0) return;
    this.held = this.held.filter((h) => h.id !== id);
    for (const h of mine) this.route(h.update);
  }

  private onEnded(call: CallSignaling): void {
    this.active.delete(call);
    const id = call.callId;
    if (id !== undefined) {
      this.byId.delete(id);
      this.remember(id, call);
    }
  }

  private remember(id: bigint, call: CallSignaling | null): void {
    this.recent.set(id, call);
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.keys().next().value!);
  }

  private newMachine(direction: CallDirection, peerId: bigint, peerAccessHash: bigint | undefined, timeouts: CallTimeouts): CallMachine {
    if (this.selfId === undefined) throw new CallSignalingError('NOT_STARTED', 'PhoneCalls.start() has not completed');
    return new CallMachine({
      direction,
      selfId: this.selfId,
      peerId,
      ...(peerAccessHash === undefined ? {} : { peerAccessHash }),
      timeouts: { ...timeouts, connectMs: timeouts.connectMs > 0 ? timeouts.connectMs + this.connectBackstopMs : 0 },
      dhCache: this.dhCache,
      protocol: this.protocol,
      randomBytes: this.randomBytes,
    });
  }

  private callDeps(machine: CallMachine, timeouts: CallTimeouts): ConstructorParameters<typeof CallSignaling>[0] {
    return {
      machine,
      timeouts,
      mtproto: this.mtproto,
      api: this.api,
      logger: this.logger.child(`call`),
      now: this.now,
      retry: this.options.signalingRetry,
      inboxLimits: this.options.inboxLimits,
      onBound: (c, id) => this.onBound(c, id),
      onEnded: (c) => this.onEnded(c),
    };
  }
}
