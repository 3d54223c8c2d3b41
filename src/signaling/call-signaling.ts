/**
 * One call's signaling object: the thin async driver around `CallMachine`. It performs the
 * machine's requests through the MTProto client, runs its single deadline timer, carries signaling
 * data (ordered retrying send queue, bounded inbox until the consumer attaches) and re-emits
 * events. Listener exceptions are caught and logged; nothing is thrown into the host from update
 * handling. When the call ends every timer is released.
 */
import { EventEmitter } from 'node:events';
import { CallSignalingError, toError, type TgCallError } from '../errors.js';
import type { Logger } from '../logger.js';
import { safeEmit } from '../safe-emit.js';
import { AMBIGUOUS_LIBRARY_VERSIONS } from '../crypto/signaling-versions.js';
import type { CallMachine } from './call-machine.js';
import type { CallTimeouts } from './call-timeouts.js';
import { customParametersForLog } from './custom-parameters.js';
import type { CallDirection, CallEndInfo, CallReadyInfo, MachineOutput, SignalingState } from './call-types.js';
import type { ApiNamespace, MtprotoClient } from './mtproto.js';
import { decodeBool, type DiscardReason, type PhoneCallRecord } from './phone-call-record.js';
import { buildInputPhoneCall, buildRequest } from './request-builder.js';
import { rpcFailureError } from './rpc-failure.js';
import { SignalingInbox, type SignalingInboxLimits } from './signaling-inbox.js';
import { SignalingSendQueue, type SignalingRetryPolicy, type SignalingSendStats } from './signaling-send-queue.js';


/** RPC errors by which the server says the call is already over there. */
const CALL_GONE_ERRORS: ReadonlySet<string> = new Set(['CALL_PEER_INVALID', 'CALL_ALREADY_DECLINED']);

export interface CallSignalingEvents {
  state: [state: SignalingState];
  /** Caller: the callee's device rings (receive_date). Callee: the call rings here. */
  ringing: [];
  /** The key is agreed: what the connection needs (key, version, servers). */
  ready: [info: CallReadyInfo];
  /** One phone.sendSignalingData payload from the peer, in arrival order, once ready. */
  signalingData: [data: Uint8Array];
  ended: [info: CallEndInfo];
}

export interface CallSignalingStats {
  readonly duplicates: number;
  readonly unexpected: number;
  readonly afterEnd: number;
  readonly signalingReceived: number;
  /** Incoming packets lost to a full inbox or arriving after the end. */
  readonly signalingDropped: number;
  readonly send: Readonly<SignalingSendStats>;
}

/** @internal wiring between a call and its `PhoneCalls` owner. */
export interface CallSignalingDeps {
  readonly machine: CallMachine;
  /** This call's deadlines (explicit, else the server's, else the defaults), before any backstop. */
  readonly timeouts: CallTimeouts;
  readonly mtproto: MtprotoClient;
  readonly api: ApiNamespace;
  readonly logger: Logger;
  readonly now: () => number;
  readonly retry: Partial<SignalingRetryPolicy> | undefined;
  readonly inboxLimits: SignalingInboxLimits | undefined;
  readonly onBound: (call: CallSignaling, callId: bigint) => void;
  readonly onEnded: (call: CallSignaling) => void;
}

export class CallSignaling extends EventEmitter<CallSignalingEvents> {
  protected readonly machine: CallMachine;
  private readonly deps: CallSignalingDeps;
  private readonly log: Logger;
  private readonly inbox: SignalingInbox;
  private readonly sendQueue: SignalingSendQueue;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private pumping = false;
  private ready: CallReadyInfo | undefined;
  private ended: CallEndInfo | undefined;
  private readyWaiters: { resolve: (i: CallReadyInfo) => void; reject: (e: Error) => void }[] = [];
  private endWaiters: ((i: CallEndInfo) => void)[] = [];
  private received = 0;
  private droppedLate = 0;

  /** @internal created by `PhoneCalls`. */
  constructor(deps: CallSignalingDeps) {
    super();
    this.deps = deps;
    this.machine = deps.machine;
    this.log = deps.logger;
    this.inbox = new SignalingInbox(deps.inboxLimits);
    this.sendQueue = new SignalingSendQueue({
      send: (data) => this.invokeSendSignaling(data),
      onFailure: (err) =>
        this.input(() =>
          CALL_GONE_ERRORS.has(err.code) ? this.machine.serverGone(err, this.deps.now()) : this.machine.fail(err, this.deps.now()),
        ),
      policy: deps.retry,
      logger: deps.logger,
    });
    // 'newListener' is EventEmitter's own event, outside the typed map.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      // Deliver buffered packets once the consumer has actually attached (after this hook returns).
      if (event === 'signalingData') queueMicrotask(() => this.flushInbox());
    });
  }

  get direction(): CallDirection {
    return this.machine.direction;
  }

  get isOutgoing(): boolean {
    return this.machine.direction === 'outgoing';
  }

  get state(): SignalingState {
    return this.machine.state;
  }

  get callId(): bigint | undefined {
    return this.machine.callId;
  }

  get peerUserId(): bigint {
    return this.machine.peerId;
  }

  /** This call's deadlines, fixed when it was placed or rang: explicit options, else the server's, else the defaults. */
  get timeouts(): CallTimeouts {
    return this.deps.timeouts;
  }

  /** Set once the call is ready. */
  get readyInfo(): CallReadyInfo | undefined {
    return this.ready;
  }

  /** Set once the call has ended. */
  get endInfo(): CallEndInfo | undefined {
    return this.ended;
  }

  getStats(): CallSignalingStats {
    return {
      ...this.machine.getStats(),
      signalingReceived: this.received,
      signalingDropped: this.inbox.dropped + this.droppedLate,
      send: this.sendQueue.getStats(),
    };
  }

  /** Resolves when ready; rejects with the end error (or `CALL_ENDED`) if the call ends first. */
  whenReady(): Promise<CallReadyInfo> {
    if (this.ready) return Promise.resolve(this.ready);
    if (this.ended) return Promise.reject(endedError(this.ended));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  whenEnded(): Promise<CallEndInfo> {
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /**
   * Sends one signaling payload (phone.sendSignalingData) after the ones sent before it; retried on
   * FLOOD_WAIT / network errors. Throws `NOT_READY` before the call is ready. Returns false when
   * the packet was dropped: the call has ended, or the send queue is full (`maxQueued`).
   */
  sendSignalingData(data: Uint8Array): boolean {
    if (!(data instanceof Uint8Array)) throw new TypeError('signaling data must be a Uint8Array');
    const state = this.machine.state;
    if (state === 'ending' || state === 'ended') return false;
    if (state !== 'ready') throw new CallSignalingError('NOT_READY', `cannot send signaling data in state ${state}`);
    return this.sendQueue.enqueue(new Uint8Array(data));
  }

  /** Resolves once every queued signaling packet was sent (or the call ended). */
  flushSignaling(): Promise<void> {
    return this.sendQueue.idle();
  }

  /** Ends the call (phone.discardCall). Default reason: `missed` before an answer, else `hangup`. */
  hangup(reason?: DiscardReason): void {
    this.input(() => this.machine.hangup(this.deps.now(), reason));
  }

  /** The transport connected: cancels the connect deadline (`call_connect_timeout_ms`). */
  markConnected(): void {
    this.input(() => this.machine.markConnected());
  }

  /** Ends the call because the layer above failed (e.g. the transport); discards with `disconnect`. */
  fail(error: TgCallError): void {
    this.input(() => this.machine.fail(error, this.deps.now()));
  }

  /**
   * phone.setCallRating; meant for after the end when `needRating` was set. Rejects with
   * `BAD_RATING` unless `rating` is an integer 1..5.
   */
  async setCallRating(rating: number, comment = ''): Promise<void> {
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
      throw new CallSignalingError('BAD_RATING', `rating must be an integer 1..5, got ${String(rating)}`);
    }
    const peer = this.inputCall();
    try {
      await this.deps.mtproto.invoke(new this.deps.api.phone.SetCallRating({ peer, rating, comment, userInitiative: false }));
    } catch (err) {
      throw rpcFailureError(err, 'phone.setCallRating');
    }
  }

  /** phone.saveCallDebug with a JSON document (when `needDebug` was set); rejects with `BAD_DEBUG_JSON` for anything else. */
  async saveCallDebug(json: string): Promise<void> {
    try {
      if (typeof json !== 'string') throw new TypeError(`expected a string, got ${typeof json}`);
      JSON.parse(json);
    } catch (err) {
      throw new CallSignalingError('BAD_DEBUG_JSON', `saveCallDebug needs a JSON document: ${toError(err).message}`, { cause: err });
    }
    const peer = this.inputCall();
    let result: unknown;
    try {
      result = await this.deps.mtproto.invoke(new this.deps.api.phone.SaveCallDebug({ peer, debug: new this.deps.api.DataJSON({ data: json }) }));
    } catch (err) {
      throw rpcFailureError(err, 'phone.saveCallDebug');
    }
    if (!decodeBool(result)) throw new CallSignalingError('SAVE_CALL_DEBUG_FAILED', 'phone.saveCallDebug returned false');
  }

  // ---- used by PhoneCalls --------------------------------------------------------------------

  /** @internal */
  _handleCall(call: PhoneCallRecord): void {
    this.input(() => this.machine.handleCall(call, this.deps.now()));
  }

  /** @internal */
  _handleSignalingData(data: Uint8Array): void {
    if (this.ended) {
      this.droppedLate++;
      return;
    }
    this.received++;
    this.inbox.push(data);
    this.flushInbox();
  }

  /** @internal */
  _run(action: (machine: CallMachine, now: number) => void): void {
    this.input(() => action(this.machine, this.deps.now()));
  }

  // ---- driver --------------------------------------------------------------------------------

  private input(action: () => void): void {
    try {
      action();
    } catch (err) {
      // API misuse (e.g. accept() in the wrong state) propagates only from direct user calls.
      if (err instanceof CallSignalingError && err.code === 'BAD_STATE') {
        this.pump();
        throw err;
      }
      this.log.error('call input failed', { error: toError(err).message });
      this.machine.fail(err, this.deps.now());
    }
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let guard = 0; guard < 10_000; guard++) {
        const outputs = this.machine.takeOutputs();
        if (outputs.length === 0) break;
        for (const out of outputs) this.perform(out);
      }
    } finally {
      this.pumping = false;
    }
    this.schedule();
  }

  private perform(out: MachineOutput): void {
    switch (out.type) {
      case 'invoke': {
        const { id, request } = out;
        const api = this.deps.api;
        Promise.resolve()
          .then(() => this.deps.mtproto.invoke(buildRequest(api, request)))
          .then(
            (result) => this.input(() => this.machine.handleResult(id, result, this.deps.now())),
            (err: unknown) => this.input(() => this.machine.handleError(id, err, this.deps.now())),
          );
        return;
      }
      case 'bound':
        this.guard(() => this.deps.onBound(this, out.callId));
        return;
      case 'state':
        safeEmit(this, this.log, 'state', out.state);
        return;
      case 'ringing':
        safeEmit(this, this.log, 'ringing');
        return;
      case 'ready':
        this.ready = out.info;
        this.logReady(out.info);
        for (const w of this.readyWaiters.splice(0)) w.resolve(out.info);
        safeEmit(this, this.log, 'ready', out.info);
        this.flushInbox();
        return;
      case 'ended':
        this.ended = out.info;
        this.sendQueue.close();
        this.droppedLate += this.inbox.size;
        this.inbox.clear();
        this.clearTimer();
        for (const w of this.readyWaiters.splice(0)) w.reject(endedError(out.info));
        for (const w of this.endWaiters.splice(0)) w(out.info);
        safeEmit(this, this.log, 'ended', out.info);
        this.guard(() => this.deps.onEnded(this));
        return;
    }
  }

  /** Once per call, when the key is agreed: what the server chose. Nothing secret is logged. */
  private logReady(info: CallReadyInfo): void {
    this.log.info('call ready', {
      version: info.version,
      p2pAllowed: info.p2pAllowed,
      connections: info.connections.length,
      customParameters: customParametersForLog(info.customParametersJson) ?? null,
    });
    if (AMBIGUOUS_LIBRARY_VERSIONS.includes(info.version)) {
      this.log.warn('the server chose an ambiguous library version', {
        version: info.version,
        note: 'official builds read it differently (some: reflector transport without ICE/DTLS, or SCTP signaling); 8.0.0 is unambiguous',
      });
    }
  }

  private schedule(): void {
    const at = this.machine.state === 'ended' ? undefined : this.machine.nextDeadline();
    if (at === this.timerAt) return;
    this.clearTimer();
    if (at === undefined) return;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.input(() => this.machine.handleTimeout(this.deps.now()));
    }, Math.max(0, at - this.deps.now()));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  private flushInbox(): void {
    if (!this.ready || this.ended || this.listenerCount('signalingData') === 0) return;
    for (const data of this.inbox.drain()) safeEmit(this, this.log, 'signalingData', data);
  }

  private invokeSendSignaling(data: Uint8Array): Promise<unknown> {
    const peer = this.inputCall();
    const request = new this.deps.api.phone.SendSignalingData({ peer, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
    return Promise.resolve().then(() => this.deps.mtproto.invoke(request));
  }

  private inputCall(): ReturnType<typeof buildInputPhoneCall> {
    const id = this.machine.callId;
    const accessHash = this.machine.accessHash;
    if (id === undefined || accessHash === undefined) throw new CallSignalingError('NO_CALL_ID', 'the server has not assigned this call an id yet');
    return buildInputPhoneCall(this.deps.api, { id, accessHash });
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.log.error('call bookkeeping failed', { error: toError(err).message });
    }
  }
}

/** A call we placed. */
export class OutgoingCallSignaling extends CallSignaling {}

/** A call we received: answer it with `accept()` or refuse it with `decline()`. */
export class IncomingCallSignaling extends CallSignaling {
  /** Answers: DH config, g_b, phone.acceptCall. Throws `BAD_STATE` unless ringing. */
  accept(): void {
    this._run((m, now) => m.accept(now));
  }

  /** Refuses a ringing call: reason `busy` (default, as official clients) or `hangup`. */
  decline(reason: 'hangup' | 'busy' = 'busy'): void {
    this._run((m, now) => m.decline(now, reason));
  }
}

/**
 * @internal What a wait on a call (`whenReady()`, `Call.whenConnected()`) rejects with when the
 * call ended first: the end's own error, else `CALL_ENDED`.
 */
export function endedError(info: CallEndInfo): TgCallError {
  return info.error ?? new CallSignalingError('CALL_ENDED', `the call ended (${info.reason}, ${info.by})`);
}
