/**
 * An in-process stand-in for Telegram's phone service, shared by two or more fake clients. Every
 * request and every update is the real GramJS `Api` class, round-tripped through GramJS's TL
 * serializer. Behaviour follows the real server as far as it is public:
 *
 * - `messages.getDhConfig`: Telegram's 2048-bit prime, g = 3, a version, a fresh random of the
 *   requested length; `messages.dhConfigNotModified` when the client's version is current.
 * - `phone.requestCall` -> caller gets phoneCallWaiting, callee gets updatePhoneCall
 *   (phoneCallRequested). `phone.receivedCall` sets `receive_date` and sends the caller a
 *   phoneCallWaiting carrying it (the caller's "ringing"). `phone.acceptCall` -> caller gets
 *   phoneCallAccepted (g_b). `phone.confirmCall` -> both get phoneCall (the caller as the result with
 *   g_b, the callee as an update with g_a), with `connections`, `p2p_allowed`, `custom_parameters`.
 * - Version choice (not public, call-crypto-and-signaling.md §10.2): by default the first entry of
 *   the caller's `library_versions` that the callee also lists. Clients order their lists
 *   differently (tdesktop newest-first, Android lexicographic), so the real rule may weigh the
 *   callee's order too; pass `chooseVersion` to model another rule. The final phoneCall carries
 *   `library_versions = [chosen]`.
 * - Busy: by default (`busy: 'server'`) a call to a user who is in another call is discarded with
 *   `busy` right away; with `busy: 'client'` the callee's client must refuse it itself (as tdesktop
 *   does with phone.discardCall(busy)).
 * - phone.discardCall propagates phoneCallDiscarded (reason, duration, need_rating) to the other
 *   side and returns it to the sender inside `Updates`.
 * - State errors as documented on core.telegram.org: CALL_PEER_INVALID (not your call / wrong
 *   access_hash / wrong state), CALL_ALREADY_DECLINED (already discarded), CALL_ALREADY_ACCEPTED,
 *   CALL_PROTOCOL_FLAGS_INVALID, CALL_PROTOCOL_LAYER_INVALID, CALL_PROTOCOL_COMPAT_LAYER_INVALID
 *   (406, no common version), USER_ID_INVALID, USER_PRIVACY_RESTRICTED (403).
 * - phone.sendSignalingData is relayed as updatePhoneCallSignalingData with optional seeded loss,
 *   delay, duplication and reordering (`signaling`).
 *
 * Test hooks (`hooks`) can rewrite, drop, duplicate or replay updates, results and signaling
 * packets, or make a request fail (e.g. FLOOD_WAIT); `injectUpdate` delivers any update. All timers
 * are released by `close()`.
 */
import { Api, errors } from 'telegram';
import { silentLogger, type Logger } from '../logger.js';
import { fromHex } from '../crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../crypto/dh-config.js';
import { readLong, toLong } from '../signaling/long.js';
import { isTlObject, type TlObjectLike } from '../signaling/mtproto.js';
import {
  decodeDiscardReason,
  decodeProtocol,
  type CallProtocolRecord,
  type DiscardReason,
  type PhoneConnection,
} from '../signaling/phone-call-record.js';
import { FakeClient, type FakeServerPort } from './fake-client.js';
import { SeededRandom } from './seeded-random.js';
import { SignalingRelay, type SignalingRelayOptions, type SignalingRelayStats } from './signaling-relay.js';
import { TimerSet } from './timer-set.js';
import { roundTrip } from './tl-round-trip.js';

export type FakeCustomParameters = string | Readonly<Record<string, unknown>>;

/** `T` with the keys `K` made optional. */
type WithOptional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/**
 * A TURN/STUN (or legacy reflector) server the fake puts into `phoneCall.connections`: the
 * decoded `PhoneConnection`, with everything but the address optional (defaults: id = position,
 * empty strings, false flags).
 */
export type FakeConnection =
  | WithOptional<Extract<PhoneConnection, { kind: 'webrtc' }>, 'id' | 'ipv6' | 'username' | 'password' | 'turn' | 'stun'>
  | WithOptional<Extract<PhoneConnection, { kind: 'reflector' }>, 'id' | 'ipv6' | 'tcp'>;

export interface FakeTelegramOptions {
  /** Seed of every random choice the fake makes (ids, randoms, faults). */
  readonly seed?: number;
  /** The DH group served by getDhConfig. Defaults: Telegram's prime, g = 3, version 1. */
  readonly dh?: { readonly g?: number; readonly p?: Uint8Array; readonly version?: number };
  readonly connections?: readonly FakeConnection[];
  /** `phoneCall.p2p_allowed`. Default true. */
  readonly p2pAllowed?: boolean;
  /**
   * `phoneCall.custom_parameters` (a JSON string or object), or a function giving them per call
   * (e.g. `network_signaling_nosctp` for some calls only; asked once per side, so answer both
   * alike); undefined leaves the field out.
   */
  readonly customParameters?: FakeCustomParameters | ((call: FakeCallInfo) => FakeCustomParameters | undefined);
  /** Picks the version from the caller's and callee's lists; undefined means no common version. */
  readonly chooseVersion?: (callerVersions: readonly string[], calleeVersions: readonly string[]) => string | undefined;
  /** Who refuses a call to a user already in a call. Default 'server'. */
  readonly busy?: 'server' | 'client';
  /** Server-side ring timeout: an unanswered call is discarded with `missed`. 0 (default) = off. */
  readonly ringTimeoutMs?: number;
  /** need_rating on discarded calls; default: true when the call had become active. */
  readonly needRating?: boolean;
  readonly needDebug?: boolean;
  /** Loss / delay / duplication / reordering of relayed signaling data. */
  readonly signaling?: SignalingRelayOptions;
  /** How updates are wrapped on delivery. Default 'none' (single updates, as GramJS's Raw handler sees them). */
  readonly updateContainers?: 'none' | 'short' | 'updates' | 'mixed';
  /** Delay of update delivery (ms). Default 0 (next macrotask). */
  readonly updateDelayMs?: number;
  /** Delay of results after processing (ms), so updates can overtake them. Default 0 (microtask). */
  readonly resultDelayMs?: number;
  readonly logger?: Logger;
}

export interface FakeSignalingPacket {
  readonly from: bigint;
  readonly to: bigint;
  readonly callId: bigint;
  readonly data: Uint8Array;
  /** 0-based index of this packet among those `from` sent in this call. */
  readonly index: number;
}

export interface FakeTelegramHooks {
  /** Every update on its way to `to`: return a replacement, several (duplicates/replays), or null to drop. */
  update?: (ctx: { readonly to: bigint; readonly update: Api.TypeUpdate }) => Api.TypeUpdate | readonly Api.TypeUpdate[] | null | undefined;
  /** Every successful result before the client sees it; return the (possibly modified) result. */
  result?: (ctx: { readonly from: bigint; readonly request: TlObjectLike; readonly result: unknown }) => unknown;
  /** Every request before it is processed; throw to make it fail (e.g. `fakeFloodWait(2)`). */
  request?: (ctx: { readonly from: bigint; readonly request: TlObjectLike }) => void;
  /** Every relayed signaling packet: return a replacement, several (duplicates/replays), or null to drop. */
  signaling?: (packet: FakeSignalingPacket) => Uint8Array | readonly Uint8Array[] | null | undefined;
}

export type FakeCallState = 'waiting' | 'accepted' | 'active' | 'discarded';

/** The server's view of one call, for inspection by tests. */
export interface FakeCallInfo {
  readonly id: bigint;
  readonly accessHash: bigint;
  readonly adminId: bigint;
  readonly participantId: bigint;
  readonly state: FakeCallState;
  readonly receiveDate: number | undefined;
  readonly version: string | undefined;
  readonly discardReason: DiscardReason | undefined;
  readonly discardedBy: bigint | undefined;
  readonly duration: number | undefined;
  readonly signalingPackets: { readonly fromAdmin: number; readonly fromParticipant: number };
  readonly rating: { readonly from: bigint; readonly rating: number; readonly comment: string } | undefined;
  readonly debug: readonly string[];
}

export interface FakeRequestLogEntry {
  readonly from: bigint;
  readonly method: string;
  readonly at: number;
}

interface FakeUser {
  readonly id: bigint;
  readonly accessHash: bigint;
  readonly name: string;
  readonly clients: Set<FakeClient>;
  callsAllowed: boolean;
}

interface ServerCall {
  readonly id: bigint;
  readonly accessHash: bigint;
  readonly date: number;
  readonly adminId: bigint;
  readonly participantId: bigint;
  readonly randomId: number;
  readonly gAHash: Buffer;
  readonly adminProtocol: CallProtocolRecord;
  readonly video: boolean;
  state: FakeCallState;
  participantNotified: boolean;
  receiveDate: number | undefined;
  participantProtocol: CallProtocolRecord | undefined;
  version: string | undefined;
  gA: Buffer | undefined;
  gB: Buffer | undefined;
  keyFingerprint: bigint | undefined;
  startDate: number | undefined;
  discardReason: DiscardReason | undefined;
  discardedBy: bigint | undefined;
  duration: number | undefined;
  needRating: boolean;
  needDebug: boolean;
  sentByAdmin: number;
  sentByParticipant: number;
  rating: FakeCallInfo['rating'];
  debug: string[];
  cancelRing: (() => void) | undefined;
}

const DEFAULT_DH_VERSION = 1;
const MAX_RANDOM_LENGTH = 1024;
const MAX_LOG = 10_000;

/** A GramJS `FloodWaitError` as the real client throws it for FLOOD_WAIT_X. */
export function fakeFloodWait(seconds: number, request?: unknown): Error {
  return new errors.FloodWaitError({ request: request as Api.AnyRequest, capture: seconds });
}

/** A GramJS `RPCError` with the given type and code. */
export function fakeRpcError(type: string, code = 400, request?: unknown): Error {
  return new errors.RPCError(type, request as Api.AnyRequest, code);
}

/** The default version rule: first of the caller's versions that the callee also lists. */
export function firstCommonVersion(callerVersions: readonly string[], calleeVersions: readonly string[]): string | undefined {
  return callerVersions.find((v) => calleeVersions.includes(v));
}

export class FakeTelegram implements FakeServerPort {
  readonly hooks: FakeTelegramHooks = {};
  readonly requestLog: FakeRequestLogEntry[] = [];

  private readonly random: SeededRandom;
  private readonly timers = new TimerSet();
  private readonly relay: SignalingRelay;
  private readonly users = new Map<bigint, FakeUser>();
  private readonly calls = new Map<bigint, ServerCall>();
  private readonly delivered = new Map<bigint, Api.TypeUpdate[]>();
  private readonly queues = new Map<FakeClient, unknown[]>();
  private readonly failures: { userId: bigint | undefined; method: string; error: () => Error; remaining: number }[] = [];
  private readonly dhG: number;
  private readonly dhP: Buffer;
  private readonly dhVersion: number;
  private readonly logger: Logger;
  /** Rejects requests still waiting for their result delay when the fake closes. */
  private readonly aborts = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: FakeTelegramOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 1);
    this.relay = new SignalingRelay(options.signaling ?? {}, new SeededRandom((options.seed ?? 1) ^ 0x5eed), this.timers);
    this.dhG = options.dh?.g ?? 3;
    this.dhP = Buffer.from(options.dh?.p ?? fromHex(TELEGRAM_DH_PRIME_HEX));
    this.dhVersion = options.dh?.version ?? DEFAULT_DH_VERSION;
    this.logger = options.logger ?? silentLogger;
  }

  /** Relay counters (loss, duplication, reordering). */
  get signalingStats(): Readonly<SignalingRelayStats> {
    return { ...this.relay.stats };
  }

  /** Timers currently pending inside the fake (0 once closed). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Creates a session for `userId` (registering the user on first use). */
  createClient(userId: bigint, name = `user${userId}`): FakeClient {
    if (this.closed) throw new Error('FakeTelegram is closed');
    let user = this.users.get(userId);
    if (!user) {
      user = { id: userId, accessHash: this.random.int64(), name, clients: new Set(), callsAllowed: true };
      this.users.set(userId, user);
    }
    const client = new FakeClient(this, userId, user.accessHash, user.name, this.logger);
    user.clients.add(client);
    return client;
  }

  /** @internal user lookup for `FakeClient.resolveUser`: by id, name or `@name`. */
  lookupUser(query: string | bigint): { userId: bigint; accessHash: bigint } | undefined {
    for (const user of this.users.values()) {
      const match =
        typeof query === 'bigint'
          ? user.id === query
          : user.name === query.replace(/^@/, '') || user.id.toString() === query;
      if (match) return { userId: user.id, accessHash: user.accessHash };
    }
    return undefined;
  }

  /** Models the callee's privacy setting: phone.requestCall fails with USER_PRIVACY_RESTRICTED. */
  setCallsAllowed(userId: bigint, allowed: boolean): void {
    const user = this.users.get(userId);
    if (user) user.callsAllowed = allowed;
  }

  /** The next `times` requests of `method` (GramJS className, e.g. 'phone.SendSignalingData') from `userId` fail. */
  failNext(userId: bigint | undefined, method: string, error: () => Error, times = 1): void {
    this.failures.push({ userId, method, error, remaining: times });
  }

  /** Delivers any update (round-tripped) to every session of `userId`. */
  injectUpdate(userId: bigint, update: Api.TypeUpdate): void {
    this.deliverUpdate(userId, update, { hook: false });
  }

  /** Updates delivered to `userId` so far (after hooks), e.g. to replay them. */
  deliveredUpdates(userId: bigint): readonly Api.TypeUpdate[] {
    return [...(this.delivered.get(userId) ?? [])];
  }

  getCall(id: bigint): FakeCallInfo | undefined {
    const c = this.calls.get(id);
    return c ? this.info(c) : undefined;
  }

  /** Every call the fake has seen, oldest first. */
  listCalls(): FakeCallInfo[] {
    return [...this.calls.values()].map((c) => this.info(c));
  }

  /** Releases every timer and disconnects every client. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.close();
    for (const abort of this.aborts) abort();
    this.aborts.clear();
    for (const c of this.calls.values()) c.cancelRing = undefined;
    for (const user of this.users.values()) for (const client of [...user.clients]) client.close();
    this.queues.clear();
  }

  // ---- FakeServerPort ------------------------------------------------------------------------

  /** @internal */
  detach(client: FakeClient): void {
    this.users.get(client.userId)?.clients.delete(client);
    this.queues.delete(client);
  }

  /** @internal */
  async handle(client: FakeClient, request: Api.AnyRequest): Promise<unknown> {
    if (this.closed) throw new Error('Cannot send requests while disconnected (fake Telegram closed)');
    const resolved = this.resolveEntities(request);
    // Wire-valid or fail, like a real connection.
    const req = roundTrip(resolved) as unknown as TlObjectLike;
    const from = client.userId;
    if (this.requestLog.length < MAX_LOG) this.requestLog.push({ from, method: req.className, at: Date.now() });
    await Promise.resolve();
    if (this.closed) throw new Error('Cannot send requests while disconnected (fake Telegram closed)');
    this.hooks.request?.({ from, request: req });
    const failure = this.failures.find((f) => f.remaining > 0 && f.method === req.className && (f.userId === undefined || f.userId === from));
    if (failure) {
      failure.remaining--;
      throw failure.error();
    }
    let result = this.process(from, req);
    if (this.hooks.result) result = this.hooks.result({ from, request: req, result });
    const wire = roundTrip(result);
    // The answer travels back while the updates the request caused are already on their way.
    await this.resultDelay();
    return wire;
  }

  // ---- request processing --------------------------------------------------------------------

  private process(from: bigint, req: TlObjectLike): unknown {
    switch (req.className) {
      case 'messages.GetDhConfig':
        return this.getDhConfig(req);
      case 'phone.RequestCall':
        return this.requestCall(from, req);
      case 'phone.ReceivedCall':
        return this.receivedCall(from, req);
      case 'phone.AcceptCall':
        return this.acceptCall(from, req);
      case 'phone.ConfirmCall':
        return this.confirmCall(from, req);
      case 'phone.DiscardCall':
        return this.discardCall(from, req);
      case 'phone.SendSignalingData':
        return this.sendSignalingData(from, req);
      case 'phone.SetCallRating':
        return this.setCallRating(from, req);
      case 'phone.SaveCallDebug':
        return this.saveCallDebug(from, req);
      default:
        throw fakeRpcError('INPUT_METHOD_INVALID', 400);
    }
  }

  private getDhConfig(req: TlObjectLike): unknown {
    const length = typeof req.randomLength === 'number' ? req.randomLength : 0;
    if (length < 0 || length > MAX_RANDOM_LENGTH) throw fakeRpcError('RANDOM_LENGTH_INVALID', 400);
    const random = Buffer.from(this.random.bytes(length));
    if (req.version === this.dhVersion) return new Api.messages.DhConfigNotModified({ random });
    return new Api.messages.DhConfig({ g: this.dhG, p: this.dhP, version: this.dhVersion, random });
  }

  private requestCall(from: bigint, req: TlObjectLike): unknown {
    const input = req.userId;
    if (!isTlObject(input) || input.className !== 'InputUser') throw fakeRpcError('USER_ID_INVALID', 400);
    const callee = this.users.get(readLong(input.userId));
    if (!callee || callee.id === from || readLong(input.accessHash) !== callee.accessHash) throw fakeRpcError('USER_ID_INVALID', 400);
    const protocol = this.checkProtocol(req.protocol);
    if (!callee.callsAllowed) throw fakeRpcError('USER_PRIVACY_RESTRICTED', 403);
    const randomId = typeof req.randomId === 'number' ? req.randomId : 0;
    const existing = [...this.calls.values()].find((c) => c.adminId === from && c.randomId === randomId && c.participantId === callee.id);
    if (existing) return this.phoneCallResult(existing, this.waitingView(existing, from));

    const call: ServerCall = {
      id: this.random.int64(),
      accessHash: this.random.int64(),
      date: this.nowSeconds(),
      adminId: from,
      participantId: callee.id,
      randomId,
      gAHash: Buffer.from(req.gAHash as Uint8Array),
      adminProtocol: protocol,
      video: req.video === true,
      state: 'waiting',
      participantNotified: false,
      receiveDate: undefined,
      participantProtocol: undefined,
      version: undefined,
      gA: undefined,
      gB: undefined,
      keyFingerprint: undefined,
      startDate: undefined,
      discardReason: undefined,
      discardedBy: undefined,
      duration: undefined,
      needRating: false,
      needDebug: false,
      sentByAdmin: 0,
      sentByParticipant: 0,
      rating: undefined,
      debug: [],
      cancelRing: undefined,
    };
    this.calls.set(call.id, call);
    const result = this.phoneCallResult(call, this.waitingView(call, from));

    if ((this.options.busy ?? 'server') === 'server' && this.inAnotherCall(callee.id, call.id)) {
      this.discard(call, 'busy', 0, callee.id);
      return result;
    }
    call.participantNotified = true;
    this.sendToUser(
      callee.id,
      new Api.UpdatePhoneCall({
        phoneCall: new Api.PhoneCallRequested({
          video: call.video,
          id: toLong(call.id),
          accessHash: toLong(call.accessHash),
          date: call.date,
          adminId: toLong(call.adminId),
          participantId: toLong(call.participantId),
          gAHash: call.gAHash,
          protocol: this.protocolObject(call.adminProtocol),
        }),
      }),
    );
    const ringMs = this.options.ringTimeoutMs ?? 0;
    if (ringMs > 0) {
      call.cancelRing = this.timers.set(() => {
        call.cancelRing = undefined;
        if (call.state === 'waiting') this.discard(call, 'missed', 0, undefined);
      }, ringMs);
    }
    return result;
  }

  private receivedCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'participant');
    if (call.state === 'discarded') throw fakeRpcError('CALL_ALREADY_DECLINED', 400);
    if (call.receiveDate === undefined) {
      call.receiveDate = this.nowSeconds();
      this.sendToUser(call.adminId, new Api.UpdatePhoneCall({ phoneCall: this.waitingView(call, call.adminId) }));
    }
    return true;
  }

  private acceptCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'participant');
    if (call.state === 'discarded') throw fakeRpcError('CALL_ALREADY_DECLINED', 400);
    if (call.state !== 'waiting') throw fakeRpcError('CALL_ALREADY_ACCEPTED', 400);
    const protocol = this.checkProtocol(req.protocol);
    const choose = this.options.chooseVersion ?? firstCommonVersion;
    const version = choose(call.adminProtocol.libraryVersions, protocol.libraryVersions);
    const minLayer = Math.max(call.adminProtocol.minLayer, protocol.minLayer);
    const maxLayer = Math.min(call.adminProtocol.maxLayer, protocol.maxLayer);
    if (version === undefined || minLayer > maxLayer) throw fakeRpcError('CALL_PROTOCOL_COMPAT_LAYER_INVALID', 406);
    call.cancelRing?.();
    call.cancelRing = undefined;
    call.state = 'accepted';
    call.version = version;
    call.participantProtocol = protocol;
    call.gB = Buffer.from(req.gB as Uint8Array);
    call.receiveDate ??= this.nowSeconds();
    this.sendToUser(
      call.adminId,
      new Api.UpdatePhoneCall({
        phoneCall: new Api.PhoneCallAccepted({
          video: call.video,
          id: toLong(call.id),
          accessHash: toLong(call.accessHash),
          date: call.date,
          adminId: toLong(call.adminId),
          participantId: toLong(call.participantId),
          gB: call.gB,
          protocol: this.negotiatedProtocol(call),
        }),
      }),
    );
    return this.phoneCallResult(call, this.waitingView(call, from));
  }

  private confirmCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'admin');
    if (call.state === 'discarded') throw fakeRpcError('CALL_ALREADY_DECLINED', 400);
    if (call.state === 'active') throw fakeRpcError('CALL_ALREADY_ACCEPTED', 400);
    if (call.state !== 'accepted') throw fakeRpcError('CALL_PEER_INVALID', 400);
    this.checkProtocol(req.protocol);
    call.state = 'active';
    call.gA = Buffer.from(req.gA as Uint8Array);
    call.keyFingerprint = readLong(req.keyFingerprint);
    call.startDate = this.nowSeconds();
    this.sendToUser(call.participantId, new Api.UpdatePhoneCall({ phoneCall: this.phoneCallView(call, call.participantId) }));
    return this.phoneCallResult(call, this.phoneCallView(call, from));
  }

  private discardCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    if (call.state !== 'discarded') {
      const reason = decodeDiscardReason(req.reason) ?? 'hangup';
      const duration = call.state === 'active' && typeof req.duration === 'number' ? Math.max(0, req.duration) : 0;
      this.discard(call, reason, duration, from);
    }
    return new Api.Updates({
      updates: [new Api.UpdatePhoneCall({ phoneCall: this.discardedView(call) })],
      users: [],
      chats: [],
      date: this.nowSeconds(),
      seq: 0,
    });
  }

  private sendSignalingData(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    if (call.state !== 'active' && call.state !== 'accepted') throw fakeRpcError('CALL_PEER_INVALID', 400);
    const to = from === call.adminId ? call.participantId : call.adminId;
    const index = from === call.adminId ? call.sentByAdmin++ : call.sentByParticipant++;
    const data = new Uint8Array(req.data as Uint8Array);
    const tampered = this.hooks.signaling ? this.hooks.signaling({ from, to, callId: call.id, data, index }) : data;
    const packets = tampered === null ? [] : tampered === undefined ? [data] : tampered instanceof Uint8Array ? [tampered] : [...tampered];
    for (const packet of packets) {
      this.relay.relay(packet, (d) =>
        this.sendToUser(to, new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(call.id), data: Buffer.from(d) })),
      );
    }
    return true;
  }

  private setCallRating(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    const rating = typeof req.rating === 'number' ? req.rating : 0;
    if (rating < 1 || rating > 5) throw fakeRpcError('CALL_RATING_INVALID', 400);
    call.rating = { from, rating, comment: typeof req.comment === 'string' ? req.comment : '' };
    return new Api.Updates({ updates: [], users: [], chats: [], date: this.nowSeconds(), seq: 0 });
  }

  private saveCallDebug(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    const debug = req.debug;
    if (isTlObject(debug) && typeof debug.data === 'string') call.debug.push(debug.data);
    return true;
  }

  // ---- state helpers -------------------------------------------------------------------------

  private discard(call: ServerCall, reason: DiscardReason, duration: number, by: bigint | undefined): void {
    const wasActive = call.state === 'active';
    call.cancelRing?.();
    call.cancelRing = undefined;
    call.state = 'discarded';
    call.discardReason = reason;
    call.discardedBy = by;
    call.duration = duration;
    call.needRating = this.options.needRating ?? wasActive;
    call.needDebug = this.options.needDebug ?? false;
    const update = (): Api.UpdatePhoneCall => new Api.UpdatePhoneCall({ phoneCall: this.discardedView(call) });
    if (by !== call.adminId) this.sendToUser(call.adminId, update());
    if (by !== call.participantId && call.participantNotified) this.sendToUser(call.participantId, update());
  }

  private callFor(from: bigint, peer: unknown, role: 'admin' | 'participant' | 'either'): ServerCall {
    if (!isTlObject(peer) || peer.className !== 'InputPhoneCall') throw fakeRpcError('CALL_PEER_INVALID', 400);
    const call = this.calls.get(readLong(peer.id));
    if (!call || readLong(peer.accessHash) !== call.accessHash) throw fakeRpcError('CALL_PEER_INVALID', 400);
    const ok =
      (role !== 'participant' && from === call.adminId) || (role !== 'admin' && from === call.participantId && call.participantNotified);
    if (!ok) throw fakeRpcError('CALL_PEER_INVALID', 400);
    return call;
  }

  private checkProtocol(value: unknown): CallProtocolRecord {
    let protocol: CallProtocolRecord;
    try {
      protocol = decodeProtocol(value);
    } catch {
      throw fakeRpcError('CALL_PROTOCOL_FLAGS_INVALID', 400);
    }
    if (!protocol.udpP2p && !protocol.udpReflector) throw fakeRpcError('CALL_PROTOCOL_FLAGS_INVALID', 400);
    if (protocol.minLayer > protocol.maxLayer || protocol.maxLayer < 65) throw fakeRpcError('CALL_PROTOCOL_LAYER_INVALID', 400);
    return protocol;
  }

  private inAnotherCall(userId: bigint, exceptId: bigint): boolean {
    for (const c of this.calls.values()) {
      if (c.id === exceptId || c.state === 'discarded') continue;
      if (c.adminId === userId || (c.participantId === userId && c.participantNotified)) return true;
    }
    return false;
  }

  private resolveEntities(request: Api.AnyRequest): Api.AnyRequest {
    // GramJS resolves an entity-like user_id through its entity cache (`Request.resolve`); the
    // fake knows every user, so it does the same with its own table.
    const r = request as unknown as { className: string; userId?: unknown };
    if (r.className === 'phone.RequestCall' && r.userId !== undefined && !isTlObject(r.userId)) {
      const user = this.users.get(readLong(r.userId));
      if (!user) throw fakeRpcError('USER_ID_INVALID', 400);
      r.userId = new Api.InputUser({ userId: toLong(user.id), accessHash: toLong(user.accessHash) });
    }
    return request;
  }

  // ---- views ---------------------------------------------------------------------------------

  private protocolObject(p: CallProtocolRecord): Api.PhoneCallProtocol {
    return new Api.PhoneCallProtocol({
      udpP2p: p.udpP2p,
      udpReflector: p.udpReflector,
      minLayer: p.minLayer,
      maxLayer: p.maxLayer,
      libraryVersions: [...p.libraryVersions],
    });
  }

  private negotiatedProtocol(call: ServerCall): Api.PhoneCallProtocol {
    const a = call.adminProtocol;
    const b = call.participantProtocol ?? a;
    return new Api.PhoneCallProtocol({
      udpP2p: a.udpP2p && b.udpP2p,
      udpReflector: a.udpReflector && b.udpReflector,
      minLayer: Math.max(a.minLayer, b.minLayer),
      maxLayer: Math.min(a.maxLayer, b.maxLayer),
      libraryVersions: call.version === undefined ? [] : [call.version],
    });
  }

  private waitingView(call: ServerCall, viewer: bigint): Api.PhoneCallWaiting {
    const protocol = viewer === call.adminId ? call.adminProtocol : (call.participantProtocol ?? call.adminProtocol);
    return new Api.PhoneCallWaiting({
      video: call.video,
      id: toLong(call.id),
      accessHash: toLong(call.accessHash),
      date: call.date,
      adminId: toLong(call.adminId),
      participantId: toLong(call.participantId),
      protocol: this.protocolObject(protocol),
      ...(call.receiveDate === undefined ? {} : { receiveDate: call.receiveDate }),
    });
  }

  private phoneCallView(call: ServerCall, viewer: bigint): Api.PhoneCall {
    const option = this.options.customParameters;
    const custom = typeof option === 'function' ? option(this.info(call)) : option;
    const json = custom === undefined ? undefined : typeof custom === 'string' ? custom : JSON.stringify(custom);
    return new Api.PhoneCall({
      p2pAllowed: this.options.p2pAllowed ?? true,
      video: call.video,
      id: toLong(call.id),
      accessHash: toLong(call.accessHash),
      date: call.date,
      adminId: toLong(call.adminId),
      participantId: toLong(call.participantId),
      // The caller learns g_b, the callee g_a (§2.4 steps 5–6).
      gAOrB: viewer === call.adminId ? call.gB! : call.gA!,
      keyFingerprint: toLong(call.keyFingerprint ?? 0n),
      protocol: this.negotiatedProtocol(call),
      connections: (this.options.connections ?? []).map((c, i) => this.connectionObject(c, i)),
      startDate: call.startDate ?? call.date,
      ...(json === undefined ? {} : { customParameters: new Api.DataJSON({ data: json }) }),
    });
  }

  private connectionObject(c: FakeConnection, index: number): Api.TypePhoneConnection {
    const id = toLong(c.id ?? BigInt(index + 1));
    if (c.kind === 'webrtc') {
      return new Api.PhoneConnectionWebrtc({
        turn: c.turn ?? false,
        stun: c.stun ?? false,
        id,
        ip: c.ip,
        ipv6: c.ipv6 ?? '',
        port: c.port,
        username: c.username ?? '',
        password: c.password ?? '',
      });
    }
    return new Api.PhoneConnection({ tcp: c.tcp ?? false, id, ip: c.ip, ipv6: c.ipv6 ?? '', port: c.port, peerTag: Buffer.from(c.peerTag) });
  }

  private discardedView(call: ServerCall): Api.PhoneCallDiscarded {
    return new Api.PhoneCallDiscarded({
      needRating: call.needRating,
      needDebug: call.needDebug,
      video: call.video,
      id: toLong(call.id),
      reason: reasonObject(call.discardReason ?? 'hangup'),
      duration: call.duration ?? 0,
    });
  }

  private phoneCallResult(call: ServerCall, phoneCall: Api.TypePhoneCall): Api.phone.PhoneCall {
    const users = [call.adminId, call.participantId].map((id) => {
      const u = this.users.get(id)!;
      return new Api.User({ id: toLong(u.id), accessHash: toLong(u.accessHash), firstName: u.name });
    });
    return new Api.phone.PhoneCall({ phoneCall, users });
  }

  private info(c: ServerCall): FakeCallInfo {
    return {
      id: c.id,
      accessHash: c.accessHash,
      adminId: c.adminId,
      participantId: c.participantId,
      state: c.state,
      receiveDate: c.receiveDate,
      version: c.version,
      discardReason: c.discardReason,
      discardedBy: c.discardedBy,
      duration: c.duration,
      signalingPackets: { fromAdmin: c.sentByAdmin, fromParticipant: c.sentByParticipant },
      rating: c.rating,
      debug: [...c.debug],
    };
  }

  // ---- delivery ------------------------------------------------------------------------------

  private sendToUser(userId: bigint, update: Api.TypeUpdate): void {
    this.deliverUpdate(userId, update, { hook: true });
  }

  private deliverUpdate(userId: bigint, update: Api.TypeUpdate, opts: { hook: boolean }): void {
    if (this.closed) return;
    const user = this.users.get(userId);
    if (!user) return;
    let list: readonly Api.TypeUpdate[] = [roundTrip(update)];
    if (opts.hook && this.hooks.update) {
      const out = this.hooks.update({ to: userId, update: list[0]! });
      list = out === null ? [] : out === undefined ? list : Array.isArray(out) ? out : [out as Api.TypeUpdate];
    }
    for (const u of list) {
      const wire = roundTrip(u);
      let log = this.delivered.get(userId);
      if (!log) this.delivered.set(userId, (log = []));
      if (log.length < MAX_LOG) log.push(wire);
      for (const client of user.clients) this.enqueue(client, this.wrap(wire));
    }
  }

  private wrap(update: Api.TypeUpdate): unknown {
    let mode = this.options.updateContainers ?? 'none';
    if (mode === 'mixed') mode = (['none', 'short', 'updates'] as const)[Math.floor(this.random.next() * 3)]!;
    if (mode === 'short') return roundTrip(new Api.UpdateShort({ update, date: this.nowSeconds() }));
    if (mode === 'updates') return roundTrip(new Api.Updates({ updates: [update], users: [], chats: [], date: this.nowSeconds(), seq: 0 }));
    return update;
  }

  /** Per-session FIFO: updates reach a client in the order the server produced them. */
  private enqueue(client: FakeClient, update: unknown): void {
    let queue = this.queues.get(client);
    if (queue) {
      queue.push(update);
      return;
    }
    queue = [update];
    this.queues.set(client, queue);
    this.timers.set(() => {
      const items = this.queues.get(client) ?? [];
      this.queues.delete(client);
      for (const item of items) client._deliver(item);
    }, this.options.updateDelayMs ?? 0);
  }

  private resultDelay(): Promise<void> {
    const ms = this.options.resultDelayMs ?? 0;
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const abort = (): void => reject(new Error('Cannot send requests while disconnected (fake Telegram closed)'));
      this.aborts.add(abort);
      this.timers.set(() => {
        this.aborts.delete(abort);
        resolve();
      }, ms);
    });
  }

  private nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
  }
}

function reasonObject(reason: DiscardReason): Api.TypePhoneCallDiscardReason {
  switch (reason) {
    case 'missed':
      return new Api.PhoneCallDiscardReasonMissed();
    case 'busy':
      return new Api.PhoneCallDiscardReasonBusy();
    case 'disconnect':
    case 'migrate':
      return new Api.PhoneCallDiscardReasonDisconnect();
    case 'hangup':
      return new Api.PhoneCallDiscardReasonHangup();
  }
}
