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
 * - Reflectors (`reflector`): the fake runs its own FakeReflector (loopback by default, started with
 *   the fake, closed by `close()`) and puts one `phoneConnection` with a fresh 16-byte `peer_tag`
 *   per call into that call's `connections`, both sides the same tag (reflector.md §11 q1 leaves
 *   open whether the real server's differ).
 * - What each side's phoneCall says (`connections`, `p2p_allowed`, `custom_parameters`) can differ
 *   per call and per side (`callSettings`): the server builds each participant's phoneCall
 *   separately (the caller's is the confirmCall result, the callee's an update), `p2p_allowed`
 *   follows each user's own privacy setting, and core.telegram.org calls `connections` "endpoints
 *   the user can connect to" and `peer_tag` "our peer tag" — nothing promises both lists are equal.
 *
 * Test hooks (`hooks`) can rewrite, drop, duplicate or replay updates, results and signaling
 * packets, or make a request fail (e.g. FLOOD_WAIT); `injectUpdate` delivers any update. All timers
 * are released by `close()`.
 */
import { Api } from 'telegram';
import { silentLogger, type Logger } from '../logger.js';
import { readLong, toLong } from '../signaling/long.js';
import { isTlObject, type TlObjectLike } from '../signaling/mtproto.js';
import { FakeClient, type FakeServerPort } from './fake-client.js';
import {
  DEFAULT_CALL_CONFIG,
  reflectorStartOptions,
  type FakeConnection,
  type FakeRequestLogEntry,
  type FakeSignalingPacket,
  type FakeTelegramHooks,
  type FakeTelegramOptions,
} from './fake-options.js';
import { FakeReflector } from './fake-reflector.js';
import { PhoneService } from './phone-service.js';
import { fakeRpcError, type FakeCallInfo, type ServiceUser } from './server-call.js';
import { SeededRandom } from './seeded-random.js';
import { SignalingRelay, type SignalingRelayStats } from './signaling-relay.js';
import { TimerSet } from './timer-set.js';
import { roundTrip } from './tl-round-trip.js';
import { configView, type FakeCallConfig } from './tl-views.js';

interface FakeUser extends ServiceUser {
  readonly clients: Set<FakeClient>;
  callsAllowed: boolean;
}

const MAX_LOG = 10_000;

export class FakeTelegram implements FakeServerPort {
  readonly hooks: FakeTelegramHooks = {};
  readonly requestLog: FakeRequestLogEntry[] = [];

  private readonly random: SeededRandom;
  private readonly timers = new TimerSet();
  private readonly relay: SignalingRelay;
  private readonly users = new Map<bigint, FakeUser>();
  private readonly phone: PhoneService;
  private readonly delivered = new Map<bigint, Api.TypeUpdate[]>();
  private readonly queues = new Map<FakeClient, unknown[]>();
  private readonly failures: { userId: bigint | undefined; method: string; error: () => Error; remaining: number }[] = [];
  private readonly logger: Logger;
  /** Rejects requests still waiting for their result delay when the fake closes. */
  private readonly aborts = new Set<() => void>();
  private closed = false;
  private ownReflector: FakeReflector | undefined;
  /** Settles when the fake's reflector is listening (or could not start: `reflectorError`). */
  private readonly reflectorStarting: Promise<void>;
  private reflectorError: Error | undefined;
  private closing: Promise<void> | undefined;
  private callConfig: FakeCallConfig | false;

  constructor(private readonly options: FakeTelegramOptions = {}) {
    this.callConfig = options.config === false ? false : { ...DEFAULT_CALL_CONFIG, ...options.config };
    this.random = new SeededRandom(options.seed ?? 1);
    this.relay = new SignalingRelay(options.signaling ?? {}, new SeededRandom((options.seed ?? 1) ^ 0x5eed), this.timers);
    this.logger = options.logger ?? silentLogger;
    this.phone = new PhoneService({
      options,
      random: this.random,
      timers: this.timers,
      user: (id) => this.users.get(id),
      sendToUser: (userId, update) => this.sendToUser(userId, update),
      relaySignaling: (packet) => this.relaySignaling(packet),
      reflectorEntry: (peerTag) => this.reflectorEntry(peerTag),
    });
    const reflector = options.reflector;
    this.reflectorStarting = reflector
      ? FakeReflector.start(reflectorStartOptions(reflector, options.seed ?? 1)).then(
          async (r) => {
            if (this.closed) await r.close();
            else this.ownReflector = r;
          },
          (err: unknown) => {
            this.reflectorError = err instanceof Error ? err : new Error(String(err));
          },
        )
      : Promise.resolve();
  }

  /** Resolves once the fake's reflector listens (at once without `reflector`); rejects if it could not bind. */
  async ready(): Promise<void> {
    await this.reflectorStarting;
    if (this.reflectorError) throw this.reflectorError;
  }

  /** The fake's own reflector (option `reflector`), once `ready()`: counters, pause(), inject(). */
  get reflector(): FakeReflector | undefined {
    return this.ownReflector;
  }

  /** Relay counters (loss, duplication, reordering). */
  getSignalingStats(): SignalingRelayStats {
    return this.relay.getStats();
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

  /**
   * Ends a call the way the server does when one side moves it into a group call: both sides get
   * phoneCallDiscarded with reason phoneCallDiscardReasonMigrateConferenceCall{slug}. False when
   * the call is unknown or already over.
   */
  migrateCall(callId: bigint, slug: string): boolean {
    return this.phone.migrate(callId, slug);
  }

  /** Changes what later help.getConfig requests answer (`false`: they fail). */
  setConfig(config: Partial<FakeCallConfig> | false): void {
    this.callConfig = config === false ? false : { ...DEFAULT_CALL_CONFIG, ...config };
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
    return this.phone.getCall(id);
  }

  /** Every call the fake has seen, oldest first. */
  listCalls(): FakeCallInfo[] {
    return this.phone.listCalls();
  }

  /**
   * Releases every timer and disconnects every client at once; the promise resolves when the fake's
   * reflector (if any) has closed its sockets. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.reflectorStarting.then(() => this.ownReflector?.close());
    this.closed = true;
    this.timers.close();
    for (const abort of this.aborts) abort();
    this.aborts.clear();
    this.phone.close();
    for (const user of this.users.values()) for (const client of [...user.clients]) client.close();
    this.queues.clear();
    return this.closing;
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
    // A call must not become active before the reflector it names listens.
    if (this.options.reflector) await this.ready();
    if (this.requestLog.length < MAX_LOG) this.requestLog.push({ from, method: req.className, at: Date.now() });
    await Promise.resolve();
    if (this.closed) throw new Error('Cannot send requests while disconnected (fake Telegram closed)');
    if (this.hooks.request?.({ from, request: req }) === 'drop') return this.never();
    const failure = this.failures.find((f) => f.remaining > 0 && f.method === req.className && (f.userId === undefined || f.userId === from));
    if (failure) {
      failure.remaining--;
      throw failure.error();
    }
    let result = req.className === 'help.GetConfig' ? this.config() : this.phone.process(from, req);
    if (this.hooks.result) result = this.hooks.result({ from, request: req, result });
    const wire = roundTrip(result);
    // The answer travels back while the updates the request caused are already on their way.
    await this.resultDelay();
    return wire;
  }

  private config(): Api.Config {
    if (this.callConfig === false) throw fakeRpcError('CONNECTION_NOT_INITED', 400);
    return configView(this.callConfig, this.nowSeconds());
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

  /** The fake reflector's `phoneConnection` for a call with this peer tag. */
  private reflectorEntry(peerTag: Uint8Array): FakeConnection | undefined {
    const reflector = this.ownReflector;
    const options = this.options.reflector;
    if (!reflector || !options) return undefined;
    const { useTcp, connectionId } = options === true ? {} : options;
    return { kind: 'reflector', ...reflector.connection(peerTag, { id: connectionId ?? 1000n, tcp: useTcp ?? false }) };
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** One phone.sendSignalingData packet through the signaling hook and the (lossy) relay. */
  private relaySignaling(packet: FakeSignalingPacket): void {
    const data = packet.data;
    const tampered = this.hooks.signaling ? this.hooks.signaling(packet) : data;
    const packets = tampered === null ? [] : tampered === undefined ? [data] : tampered instanceof Uint8Array ? [tampered] : [...tampered];
    for (const out of packets) {
      this.relay.relay(out, (d) =>
        this.sendToUser(packet.to, new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(packet.callId), data: Buffer.from(d) })),
      );
    }
  }

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

  /** A request that is never answered: rejected only by `close()`, like a request of a dead connection. */
  private never(): Promise<never> {
    return new Promise((_, reject) => {
      this.aborts.add(() => reject(new Error('Cannot send requests while disconnected (fake Telegram closed)')));
    });
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
