/**
 * The per-call lifecycle of a 1:1 call as a sans-I/O state machine
 * (call-crypto-and-signaling.md §2.4). Inputs: user actions, decoded updates and request results,
 * and the clock (`now`, ms). Outputs: requests to make (plain descriptors, no GramJS), events, and
 * the next deadline. The driver (`call-signaling.ts`) performs the requests and runs the timer.
 *
 * Rules enforced here: every phoneCall* object is checked for access_hash, admin_id (caller) and
 * participant_id (callee) (tdesktop `checkCallCommonFields`); each state is processed once
 * (duplicates / replays / out-of-order objects are ignored and counted, docs: "accept each update
 * only once"); g_a_hash, g_a/g_b range and key fingerprint are verified; any failure ends the call
 * with a typed error and discards it with reason `disconnect`.
 */
import { CallSignalingError, CallTimeoutError, CryptoError, TgCallError, toError } from '../errors.js';
import { checkGAHash, computeSharedKey, gAHash, generateDhKeyPair, type RandomBytes } from '../crypto/dh.js';
import type { DhParams } from '../crypto/dh-config.js';
import { emojiFingerprint, keyFingerprint } from '../crypto/fingerprint.js';
import { isAcceptableVersion } from '../crypto/signaling-versions.js';
import type { CallTimeouts } from './call-timeouts.js';
import { unsupportedCustomParameter } from './custom-parameters.js';
import type { DhConfigCache } from './dh-config-cache.js';
import { unwrapUpdates } from './mtproto.js';
import {
  decodeBool,
  decodeDhConfig,
  decodePhoneCallResult,
  decodePhoneUpdate,
  type CallProtocolRecord,
  type DiscardReason,
  type PhoneCallRecord,
} from './phone-call-record.js';
import { rpcFailureError } from './rpc-failure.js';
import type { CallDirection, CallEndInfo, CallRequest, InputCallRef, MachineOutput, SignalingState } from './call-types.js';

export interface CallMachineStats {
  /** Objects for a state already processed (duplicates, replays). */
  duplicates: number;
  /** Objects that do not fit the current state (out of order, late, wrong direction). */
  unexpected: number;
  /** Objects that arrived after the call ended. */
  afterEnd: number;
}

export interface CallMachineOptions {
  readonly direction: CallDirection;
  readonly selfId: bigint;
  readonly peerId: bigint;
  /** access_hash of the callee's user, for the requestCall InputUser (caller only, optional). */
  readonly peerAccessHash?: bigint;
  readonly timeouts: CallTimeouts;
  readonly dhCache: DhConfigCache;
  readonly protocol: CallProtocolRecord;
  readonly randomBytes: RandomBytes;
  readonly video?: boolean;
}

/**
 * Progress marks: each phoneCall* object (and our own acceptCall) is processed once, and an object
 * whose milestone is already set counts as a duplicate, one that does not fit the state as
 * unexpected ("accept each update only once").
 *
 * - `requested` (callee): the phoneCallRequested that created this call was processed.
 * - `waiting` (caller): the first phoneCallWaiting, the answer to phone.requestCall, bound the call id.
 * - `received` (caller): a phoneCallWaiting with `receive_date`: the callee's device rings.
 * - `accepted` (caller): phoneCallAccepted (g_b) was processed and phone.confirmCall sent.
 * - `accept-sent` (callee): our phone.acceptCall (with g_b) went out.
 * - `accept-waiting` (callee): the phoneCallWaiting that answers our acceptCall arrived; we now
 *   wait for the caller's g_a.
 * - `call` (both): the final phoneCall (key confirmed) was processed.
 * - `discarded` (both): phoneCallDiscarded was processed.
 */
type Milestone = 'requested' | 'waiting' | 'received' | 'accepted' | 'accept-sent' | 'accept-waiting' | 'call' | 'discarded';

type DeadlineKind = 'receive' | 'ring' | 'connect' | 'hangup' | 'gone';

/** How long a call the server no longer knows waits for its phoneCallDiscarded (see `serverGone`). */
const GONE_WAIT_MS = 3_000;
type PendingMethod = CallRequest['method'];

interface DhState {
  readonly params: DhParams;
  readonly secret: Uint8Array;
  readonly publicKey: Uint8Array;
}

export class CallMachine {
  readonly direction: CallDirection;
  readonly selfId: bigint;
  readonly peerId: bigint;
  private readonly counters: CallMachineStats = { duplicates: 0, unexpected: 0, afterEnd: 0 };

  private stateValue: SignalingState;
  private ref: InputCallRef | undefined;
  private readonly opts: CallMachineOptions;
  private readonly outputs: MachineOutput[] = [];
  private readonly pending = new Map<number, PendingMethod>();
  private readonly seen = new Set<Milestone>();
  private nextRequestId = 1;
  private deadline: { at: number; kind: DeadlineKind } | undefined;
  private dh: DhState | undefined;
  private expectedGAHash: Uint8Array | undefined;
  private key: Uint8Array | undefined;
  private fingerprint: bigint | undefined;
  private readyAt: number | undefined;
  private connected = false;
  private endInfo: Omit<CallEndInfo, 'needRating' | 'needDebug'> | undefined;
  private serverDiscard: Extract<PhoneCallRecord, { kind: 'discarded' }> | undefined;
  private goneError: TgCallError | undefined;
  private discardWhenBound = false;
  private video: boolean;

  constructor(opts: CallMachineOptions) {
    this.opts = opts;
    this.direction = opts.direction;
    this.selfId = opts.selfId;
    this.peerId = opts.peerId;
    this.video = opts.video ?? false;
    this.stateValue = opts.direction === 'outgoing' ? 'requesting' : 'ringing';
  }

  get state(): SignalingState {
    return this.stateValue;
  }

  get callId(): bigint | undefined {
    return this.ref?.id;
  }

  get accessHash(): bigint | undefined {
    return this.ref?.accessHash;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Outputs produced since the last call; the driver performs them in order. */
  takeOutputs(): MachineOutput[] {
    return this.outputs.splice(0, this.outputs.length);
  }

  nextDeadline(): number | undefined {
    return this.deadline?.at;
  }

  getStats(): CallMachineStats {
    return { ...this.counters };
  }

  // ---- inputs: user actions -------------------------------------------------------------------

  /**
   * Caller: fetch the DH config; phone.requestCall follows. The receive deadline is armed before
   * the first request (issue 15 defect 2): a messages.getDhConfig that never gets an answer ends
   * the call with `RECEIVE_TIMEOUT` instead of leaving it in `requesting` forever. Sending
   * phone.requestCall re-arms it (TDLib arms it there too).
   */
  startOutgoing(now: number): void {
    if (this.direction !== 'outgoing' || this.stateValue !== 'requesting' || this.pending.size > 0 || this.seen.size > 0) {
      throw new CallSignalingError('BAD_STATE', 'startOutgoing() is only valid once on a new outgoing call');
    }
    this.setDeadline('receive', this.opts.timeouts.receiveMs, now);
    this.invokeGetDhConfig();
  }

  /** Callee: start from the phoneCallRequested object (ids already checked by the router). */
  startIncoming(call: PhoneCallRecord, now: number): void {
    if (this.direction !== 'incoming' || this.ref !== undefined || call.kind !== 'requested') {
      throw new CallSignalingError('BAD_STATE', 'startIncoming() needs a new incoming call and a phoneCallRequested');
    }
    this.bind(call.id, call.accessHash);
    this.seen.add('requested');
    this.video = call.video;
    try {
      this.checkCommonFields(call);
      // tdesktop `Call::handleUpdate(phoneCallRequested)`: the hash must be a SHA-256.
      if (call.gAHash.length !== 32) throw new CryptoError('BAD_G_A_HASH', `g_a_hash has ${call.gAHash.length} bytes, expected 32`);
      this.expectedGAHash = call.gAHash;
    } catch (err) {
      this.fail(err, now);
      return;
    }
    this.invoke({ method: 'receivedCall', peer: this.ref! });
    this.setDeadline('ring', this.opts.timeouts.ringMs, now);
    this.outputs.push({ type: 'state', state: 'ringing' }, { type: 'ringing' });
  }

  /** Callee answers: DH config, g_b, phone.acceptCall. */
  accept(now: number): void {
    if (this.direction !== 'incoming' || this.stateValue !== 'ringing') {
      throw new CallSignalingError('BAD_STATE', `accept() is not valid in state ${this.stateValue}`);
    }
    this.setState('accepting');
    this.setDeadline('receive', this.opts.timeouts.receiveMs, now);
    this.invokeGetDhConfig();
  }

  /** Callee refuses a ringing call. Reason `busy` by default, as tdesktop and TDLib send it. */
  decline(now: number, reason: 'hangup' | 'busy' = 'busy'): void {
    if (this.stateValue === 'ending' || this.stateValue === 'ended') return;
    if (this.direction !== 'incoming' || this.stateValue !== 'ringing') {
      throw new CallSignalingError('BAD_STATE', `decline() is not valid in state ${this.stateValue}`);
    }
    this.end({ reason, error: undefined }, now);
  }

  /**
   * Ends the call from our side. Default reason: `missed` while an outgoing call has not been
   * answered (TDLib `discard_call`, tdesktop `Call::hangup`), `hangup` otherwise.
   */
  hangup(now: number, reason?: DiscardReason): void {
    if (this.stateValue === 'ending' || this.stateValue === 'ended') return;
    const unanswered = this.stateValue === 'requesting' || this.stateValue === 'waiting' || this.stateValue === 'ringing';
    const fallback: DiscardReason = unanswered && this.direction === 'outgoing' ? 'missed' : 'hangup';
    this.end({ reason: reason ?? fallback, error: undefined }, now);
  }

  /** The transport is connected: stops the connect deadline. */
  markConnected(): void {
    if (this.stateValue !== 'ready' || this.connected) return;
    this.connected = true;
    if (this.deadline?.kind === 'connect') this.deadline = undefined;
  }

  /** Ends the call because of a failure (typed error), discarding it with reason `disconnect`. */
  fail(err: unknown, now: number): void {
    if (this.stateValue === 'ending' || this.stateValue === 'ended') return;
    this.end({ reason: 'disconnect', error: asTgCallError(err) }, now);
  }

  /**
   * The server refused a request because the call is over there (CALL_PEER_INVALID,
   * CALL_ALREADY_DECLINED): the other side ended it and its phoneCallDiscarded is still on the
   * way. That update ends the call with the other side's reason; if it does not come soon, the
   * call ends with `err`.
   */
  serverGone(err: unknown, now: number): void {
    if (this.stateValue === 'ending' || this.stateValue === 'ended' || this.goneError) return;
    this.goneError = asTgCallError(err);
    this.setDeadline('gone', Math.min(GONE_WAIT_MS, this.opts.timeouts.hangupMs), now);
  }

  // ---- inputs: network ------------------------------------------------------------------------

  handleResult(requestId: number, result: unknown, now: number): void {
    const method = this.pending.get(requestId);
    if (method === undefined) return;
    this.pending.delete(requestId);
    if (this.stateValue === 'ended') return;
    try {
      switch (method) {
        case 'getDhConfig':
          this.onDhConfig(result, now);
          break;
        case 'requestCall':
        case 'acceptCall':
        case 'confirmCall':
          this.handleCall(decodePhoneCallResult(result), now);
          break;
        case 'receivedCall':
          // A `false` here changes nothing for us: the server simply did not record receipt.
          decodeBool(result);
          break;
        case 'discardCall':
          for (const item of unwrapUpdates(result)) {
            const update = decodePhoneUpdate(item);
            if (update?.kind === 'call' && update.call.id === this.ref?.id) this.handleCall(update.call, now);
          }
          if (this.stateValue === 'ending') this.finish();
          break;
      }
    } catch (err) {
      if (method === 'discardCall') {
        if (this.stateValue === 'ending') this.finish();
      } else {
        this.fail(err, now);
      }
    }
  }

  handleError(requestId: number, err: unknown, now: number): void {
    const method = this.pending.get(requestId);
    if (method === undefined) return;
    this.pending.delete(requestId);
    if (this.stateValue === 'ended') return;
    if (method === 'discardCall' || (method === 'requestCall' && this.stateValue === 'ending')) {
      // Nothing more to tell the server; report the end now.
      if (this.stateValue === 'ending') this.finish();
      return;
    }
    this.fail(rpcFailureError(err, method), now);
  }

  /** A phoneCall* object for this call, from an update or a result. Never throws. */
  handleCall(call: PhoneCallRecord, now: number): void {
    if (this.stateValue === 'ended') {
      this.counters.afterEnd++;
      return;
    }
    try {
      this.processCall(call, now);
    } catch (err) {
      this.fail(err, now);
    }
  }

  handleTimeout(now: number): void {
    const d = this.deadline;
    if (!d || now < d.at) return;
    this.deadline = undefined;
    switch (d.kind) {
      case 'receive': {
        const unanswered = this.direction === 'outgoing' && (this.stateValue === 'requesting' || this.stateValue === 'waiting');
        this.end(
          {
            reason: unanswered ? 'missed' : 'disconnect',
            error: new CallTimeoutError('RECEIVE_TIMEOUT', `no answer from the other side within ${this.opts.timeouts.receiveMs} ms`),
          },
          now,
        );
        break;
      }
      case 'ring':
        this.end({ reason: 'missed', error: new CallTimeoutError('RING_TIMEOUT', `not answered within ${this.opts.timeouts.ringMs} ms`) }, now);
        break;
      case 'connect':
        this.end({ reason: 'disconnect', error: new CallTimeoutError('CONNECT_TIMEOUT', `not connected within ${this.opts.timeouts.connectMs} ms`) }, now);
        break;
      case 'hangup':
        if (this.stateValue === 'ending') this.finish();
        break;
      case 'gone':
        // no discard came: end it ourselves (if the server still had the call, the peer learns)
        this.end({ reason: 'disconnect', error: this.goneError }, now);
        break;
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private processCall(call: PhoneCallRecord, now: number): void {
    if (this.ref !== undefined && call.id !== this.ref.id) {
      this.counters.unexpected++;
      return;
    }
    if (call.kind === 'discarded') {
      if (this.seen.has('discarded')) {
        this.counters.duplicates++;
        return;
      }
      this.seen.add('discarded');
      this.serverDiscard = call;
      if (this.stateValue === 'ending') {
        this.finish();
      } else {
        this.endInfo = { reason: call.reason ?? 'hangup', by: 'remote', duration: this.localDuration(now), error: undefined };
        this.finish();
      }
      return;
    }
    if (call.kind === 'empty') {
      throw new CallSignalingError('CALL_EMPTY', 'the server reported the call as phoneCallEmpty');
    }
    if (this.ref !== undefined) this.checkCommonFields(call);

    switch (call.kind) {
      case 'waiting':
        this.onWaiting(call, now);
        return;
      case 'requested':
        this.countRepeat('requested');
        return;
      case 'accepted':
        this.onAccepted(call, now);
        return;
      case 'call':
        this.onPhoneCall(call, now);
        return;
    }
  }

  private onWaiting(call: Extract<PhoneCallRecord, { kind: 'waiting' }>, now: number): void {
    if (this.direction === 'incoming') {
      // The answer to phone.acceptCall: we now wait for the caller's g_a.
      if (this.seen.has('accept-waiting')) return this.countRepeat('accept-waiting');
      if (this.stateValue !== 'accepting' || !this.dh) return this.countRepeat('accept-waiting');
      this.seen.add('accept-waiting');
      this.setState('exchanging-keys');
      return;
    }
    if (this.ref === undefined) {
      const awaitingBind = this.stateValue === 'ending' && this.discardWhenBound;
      if (this.stateValue !== 'requesting' && !awaitingBind) return this.countRepeat('waiting');
      // Bind before checking: a call with wrong ids is still discarded on the server.
      this.bind(call.id, call.accessHash);
      this.seen.add('waiting');
      this.video ||= call.video;
      if (awaitingBind) {
        this.sendDiscard(now);
        return;
      }
      this.checkCommonFieldsUnbound(call);
      this.setState('waiting');
    } else if (call.receiveDate === undefined) {
      return this.countRepeat('waiting');
    }
    if (call.receiveDate !== undefined) {
      if (this.seen.has('received')) return this.countRepeat('received');
      if (this.stateValue !== 'waiting') return this.countRepeat('received');
      this.seen.add('received');
      this.setState('ringing');
      this.outputs.push({ type: 'ringing' });
      this.setDeadline('ring', this.opts.timeouts.ringMs, now);
    }
  }

  private onAccepted(call: Extract<PhoneCallRecord, { kind: 'accepted' }>, now: number): void {
    if (this.direction !== 'outgoing') return this.countRepeat('accepted');
    if (this.seen.has('accepted')) return this.countRepeat('accepted');
    if ((this.stateValue !== 'waiting' && this.stateValue !== 'ringing') || !this.dh || !this.ref) return this.countRepeat('accepted');
    this.seen.add('accepted');
    // Range-checks g_b (DH_BAD_VALUE) before the exponentiation.
    const key = computeSharedKey(this.dh.params, this.dh.secret, call.gB);
    this.key = key;
    this.fingerprint = keyFingerprint(key);
    this.setState('exchanging-keys');
    this.setDeadline('receive', this.opts.timeouts.receiveMs, now);
    this.invoke({
      method: 'confirmCall',
      peer: this.ref,
      gA: this.dh.publicKey,
      keyFingerprint: this.fingerprint,
      protocol: this.opts.protocol,
    });
  }

  private onPhoneCall(call: Extract<PhoneCallRecord, { kind: 'call' }>, now: number): void {
    if (this.seen.has('call')) return this.countRepeat('call');
    if (this.direction === 'outgoing') {
      if (this.stateValue !== 'exchanging-keys' || !this.key || this.fingerprint === undefined || !this.dh) return this.countRepeat('call');
      this.seen.add('call');
      // TDLib checks the fingerprint on both sides ("Key fingerprints mismatch").
      if (call.keyFingerprint !== this.fingerprint) {
        throw new CryptoError('KEY_FINGERPRINT_MISMATCH', 'the server echoed a different key fingerprint');
      }
      this.becomeReady(call, this.key, this.fingerprint, this.dh.publicKey, now);
      return;
    }
    if ((this.stateValue !== 'accepting' && this.stateValue !== 'exchanging-keys') || !this.dh || !this.seen.has('accept-sent')) {
      return this.countRepeat('call');
    }
    this.seen.add('call');
    // §2.4 step 6: the revealed g_a must hash to what phoneCallRequested promised, be in range,
    // and give a key whose fingerprint matches the caller's.
    checkGAHash(call.gAOrB, this.expectedGAHash ?? new Uint8Array(0));
    const key = computeSharedKey(this.dh.params, this.dh.secret, call.gAOrB);
    const fingerprint = keyFingerprint(key);
    if (fingerprint !== call.keyFingerprint) {
      throw new CryptoError('KEY_FINGERPRINT_MISMATCH', 'key_fingerprint does not match the computed key');
    }
    this.key = key;
    this.fingerprint = fingerprint;
    this.becomeReady(call, key, fingerprint, call.gAOrB, now);
  }

  private becomeReady(
    call: Extract<PhoneCallRecord, { kind: 'call' }>,
    key: Uint8Array,
    fingerprint: bigint,
    callerGA: Uint8Array,
    now: number,
  ): void {
    const version = call.protocol.libraryVersions[0];
    // tdesktop `createAndStartController`: element 0 is the version to instantiate; an unknown one
    // fails the call. 9.0.0 is run even when we did not advertise it (official-clients.md §1).
    if (!isAcceptableVersion(version, this.opts.protocol.libraryVersions)) {
      throw new CallSignalingError('UNSUPPORTED_VERSION', `the server chose library version ${version ?? '(none)'}, which is not supported`);
    }
    const json = call.customParameters;
    const customParameters = parseJsonObject(json);
    // A flag the WebRTC stack cannot honour: end now with a reason that names it, rather than
    // after a connect timeout (custom-parameters.ts).
    const unsupported = unsupportedCustomParameter(customParameters);
    if (unsupported) {
      throw new CallSignalingError(
        'UNSUPPORTED_CUSTOM_PARAMETER',
        `the server set custom parameter ${unsupported.name}, which tgcall does not support: ${unsupported.reason}`,
      );
    }
    const { emoji, indices } = emojiFingerprint(key, callerGA);
    this.video ||= call.video;
    this.readyAt = now;
    this.setState('ready');
    this.setDeadline('connect', this.opts.timeouts.connectMs, now);
    this.outputs.push({
      type: 'ready',
      info: {
        callId: call.id,
        accessHash: call.accessHash,
        peerUserId: this.peerId,
        isOutgoing: this.direction === 'outgoing',
        key,
        keyFingerprint: fingerprint,
        emoji: [...emoji],
        emojiIndices: [...indices],
        version,
        protocol: call.protocol,
        connections: call.connections,
        p2pAllowed: call.p2pAllowed,
        customParameters,
        customParametersJson: json,
        video: this.video,
      },
    });
  }

  private onDhConfig(result: unknown, now: number): void {
    const fresh = this.opts.dhCache.apply(decodeDhConfig(result));
    const pair = generateDhKeyPair(fresh.params, fresh.random, this.opts.randomBytes);
    this.dh = { params: fresh.params, secret: pair.secret, publicKey: pair.publicKey };
    if (this.direction === 'outgoing') {
      if (this.stateValue !== 'requesting') return;
      const random = this.opts.randomBytes(4);
      const randomId = Buffer.from(random.buffer, random.byteOffset, 4).readInt32LE(0);
      this.invoke({
        method: 'requestCall',
        userId: this.peerId,
        userAccessHash: this.opts.peerAccessHash,
        randomId,
        gAHash: gAHash(pair.publicKey),
        protocol: this.opts.protocol,
        video: this.video,
      });
      // TDLib arms the receive timeout when sending phone.requestCall.
      this.setDeadline('receive', this.opts.timeouts.receiveMs, now);
      return;
    }
    if (this.stateValue !== 'accepting' || !this.ref) return;
    this.seen.add('accept-sent');
    this.invoke({ method: 'acceptCall', peer: this.ref, gB: pair.publicKey, protocol: this.opts.protocol });
  }

  private invokeGetDhConfig(): void {
    const args = this.opts.dhCache.requestArgs();
    this.invoke({ method: 'getDhConfig', version: args.version, randomLength: args.randomLength });
  }

  private end(info: { reason: DiscardReason; error: TgCallError | undefined }, now: number): void {
    if (this.stateValue === 'ending' || this.stateValue === 'ended') return;
    this.endInfo = { reason: info.reason, by: 'local', duration: this.localDuration(now), error: info.error };
    if (this.ref) {
      this.sendDiscard(now);
      return;
    }
    if ([...this.pending.values()].includes('requestCall')) {
      // tdesktop `_finishAfterRequestingCall`: discard once the server tells us the call id.
      this.discardWhenBound = true;
      this.setState('ending');
      this.setDeadline('hangup', this.opts.timeouts.hangupMs, now);
      return;
    }
    this.finish();
  }

  private sendDiscard(now: number): void {
    const info = this.endInfo!;
    this.discardWhenBound = false;
    this.setState('ending');
    this.setDeadline('hangup', this.opts.timeouts.hangupMs, now);
    this.invoke({ method: 'discardCall', peer: this.ref!, duration: info.duration, reason: info.reason, video: this.video });
  }

  private finish(): void {
    if (this.stateValue === 'ended') return;
    const local = this.endInfo ?? { reason: 'hangup' as const, by: 'remote' as const, duration: 0, error: undefined };
    const server = this.serverDiscard;
    this.deadline = undefined;
    this.pending.clear();
    this.setState('ended');
    this.outputs.push({
      type: 'ended',
      info: {
        reason: local.reason,
        by: local.by,
        duration: server?.duration ?? local.duration,
        needRating: server?.needRating ?? false,
        needDebug: server?.needDebug ?? false,
        error: local.error,
        ...(server?.slug !== undefined ? { slug: server.slug } : {}),
      },
    });
  }

  private bind(id: bigint, accessHash: bigint): void {
    this.ref = { id, accessHash };
    this.outputs.push({ type: 'bound', callId: id });
  }

  private expectedIds(): { admin: bigint; participant: bigint } {
    return this.direction === 'outgoing'
      ? { admin: this.selfId, participant: this.peerId }
      : { admin: this.peerId, participant: this.selfId };
  }

  private checkCommonFieldsUnbound(call: { adminId: bigint; participantId: bigint }): void {
    const { admin, participant } = this.expectedIds();
    if (call.adminId !== admin || call.participantId !== participant) {
      throw new CallSignalingError('CALL_FIELDS_MISMATCH', 'admin_id / participant_id do not match this call');
    }
  }

  private checkCommonFields(call: { accessHash: bigint; adminId: bigint; participantId: bigint }): void {
    if (this.ref && call.accessHash !== this.ref.accessHash) {
      throw new CallSignalingError('CALL_FIELDS_MISMATCH', 'access_hash does not match this call');
    }
    this.checkCommonFieldsUnbound(call);
  }

  private countRepeat(key: Milestone): void {
    if (this.seen.has(key)) this.counters.duplicates++;
    else this.counters.unexpected++;
  }

  private invoke(request: CallRequest): void {
    const id = this.nextRequestId++;
    this.pending.set(id, request.method);
    this.outputs.push({ type: 'invoke', id, request });
  }

  private setState(state: SignalingState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.outputs.push({ type: 'state', state });
  }

  private setDeadline(kind: DeadlineKind, ms: number, now: number): void {
    this.deadline = ms > 0 ? { at: now + ms, kind } : undefined;
  }

  private localDuration(now: number): number {
    return this.readyAt === undefined ? 0 : Math.max(0, Math.floor((now - this.readyAt) / 1000));
  }
}

function asTgCallError(err: unknown): TgCallError {
  if (err instanceof TgCallError) return err;
  const e = toError(err);
  return new CallSignalingError('INTERNAL_ERROR', e.message, { cause: e });
}

function parseJsonObject(json: string | undefined): Readonly<Record<string, unknown>> | undefined {
  if (json === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
