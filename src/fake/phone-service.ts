/**
 * The fake server's phone service: its record of every call and the handlers of the phone.* and
 * messages.getDhConfig requests, with the state rules and RPC errors described on `FakeTelegram`.
 * It knows nothing of sessions or delivery: users, update delivery and the signaling relay are
 * handed in (`PhoneServiceDeps`), and what a client sees is built by `tl-views.ts`.
 */
import { Api } from 'telegram';
import { fromHex } from '../crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../crypto/dh-config.js';
import { readLong } from '../signaling/long.js';
import { isTlObject, type TlObjectLike } from '../signaling/mtproto.js';
import { decodeDiscardReason, decodeProtocol, type CallProtocolRecord, type DiscardReason } from '../signaling/phone-call-record.js';
import type { FakeCallSettings } from './fake-options.js';
import { fakeRpcError, firstCommonVersion, type FakeCallInfo, type PhoneServiceDeps, type ServerCall } from './server-call.js';
import {
  acceptedView,
  discardedView,
  phoneCallResult,
  phoneCallView,
  requestedView,
  waitingView,
  type CallSettings,
} from './tl-views.js';

const DEFAULT_DH_VERSION = 1;
const MAX_RANDOM_LENGTH = 1024;

/** @internal */
export class PhoneService {
  private readonly calls = new Map<bigint, ServerCall>();
  private readonly dhG: number;
  private readonly dhP: Buffer;
  private readonly dhVersion: number;

  constructor(private readonly deps: PhoneServiceDeps) {
    const dh = deps.options.dh;
    this.dhG = dh?.g ?? 3;
    this.dhP = Buffer.from(dh?.p ?? fromHex(TELEGRAM_DH_PRIME_HEX));
    this.dhVersion = dh?.version ?? DEFAULT_DH_VERSION;
  }

  getCall(id: bigint): FakeCallInfo | undefined {
    const c = this.calls.get(id);
    return c ? this.info(c) : undefined;
  }

  /** Every call the server has seen, oldest first. */
  listCalls(): FakeCallInfo[] {
    return [...this.calls.values()].map((c) => this.info(c));
  }

  /** Forgets the ring timeouts' cancel handles once the fake has released their timers. */
  close(): void {
    for (const c of this.calls.values()) c.cancelRing = undefined;
  }

  /**
   * Ends a call as the server does when one side moves it into a group call
   * (phoneCallDiscardReasonMigrateConferenceCall{slug}, tdesktop `finishByMigration`): both sides
   * get phoneCallDiscarded with reason `migrate` and the slug. False when the call is unknown or over.
   */
  migrate(id: bigint, slug: string): boolean {
    const call = this.calls.get(id);
    if (!call || call.state === 'discarded') return false;
    call.migrationSlug = slug;
    const duration = call.state === 'active' && call.startDate !== undefined ? Math.max(0, nowSeconds() - call.startDate) : 0;
    this.discard(call, 'migrate', duration, undefined);
    return true;
  }

  /** Answers one request (already round-tripped and past the hooks); throws like the server. */
  process(from: bigint, req: TlObjectLike): unknown {
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
    const random = Buffer.from(this.deps.random.bytes(length));
    if (req.version === this.dhVersion) return new Api.messages.DhConfigNotModified({ random });
    return new Api.messages.DhConfig({ g: this.dhG, p: this.dhP, version: this.dhVersion, random });
  }

  private requestCall(from: bigint, req: TlObjectLike): unknown {
    const input = req.userId;
    if (!isTlObject(input) || input.className !== 'InputUser') throw fakeRpcError('USER_ID_INVALID', 400);
    const callee = this.deps.user(readLong(input.userId));
    if (!callee || callee.id === from || readLong(input.accessHash) !== callee.accessHash) throw fakeRpcError('USER_ID_INVALID', 400);
    const protocol = this.checkProtocol(req.protocol);
    if (!callee.callsAllowed) throw fakeRpcError('USER_PRIVACY_RESTRICTED', 403);
    const randomId = typeof req.randomId === 'number' ? req.randomId : 0;
    const existing = [...this.calls.values()].find((c) => c.adminId === from && c.randomId === randomId && c.participantId === callee.id);
    if (existing) return this.result(existing, waitingView(existing, from));

    const call: ServerCall = {
      id: this.deps.random.int64(),
      accessHash: this.deps.random.int64(),
      date: nowSeconds(),
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
      migrationSlug: undefined,
      needRating: false,
      needDebug: false,
      sentByAdmin: 0,
      sentByParticipant: 0,
      rating: undefined,
      debug: [],
      cancelRing: undefined,
      peerTag: undefined,
    };
    this.calls.set(call.id, call);
    const result = this.result(call, waitingView(call, from));

    if ((this.deps.options.busy ?? 'server') === 'server' && this.inAnotherCall(callee.id, call.id)) {
      this.discard(call, 'busy', 0, callee.id);
      return result;
    }
    call.participantNotified = true;
    this.deps.sendToUser(callee.id, new Api.UpdatePhoneCall({ phoneCall: requestedView(call) }));
    const ringMs = this.deps.options.ringTimeoutMs ?? 0;
    if (ringMs > 0) {
      call.cancelRing = this.deps.timers.set(() => {
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
      call.receiveDate = nowSeconds();
      this.deps.sendToUser(call.adminId, new Api.UpdatePhoneCall({ phoneCall: waitingView(call, call.adminId) }));
    }
    return true;
  }

  private acceptCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'participant');
    if (call.state === 'discarded') throw fakeRpcError('CALL_ALREADY_DECLINED', 400);
    if (call.state !== 'waiting') throw fakeRpcError('CALL_ALREADY_ACCEPTED', 400);
    const protocol = this.checkProtocol(req.protocol);
    const choose = this.deps.options.chooseVersion ?? firstCommonVersion;
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
    call.receiveDate ??= nowSeconds();
    this.deps.sendToUser(call.adminId, new Api.UpdatePhoneCall({ phoneCall: acceptedView(call) }));
    return this.result(call, waitingView(call, from));
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
    call.startDate = nowSeconds();
    // Drawn only when a reflector runs, so the seeded ids of calls without one stay as they were.
    if (this.deps.reflectorEntry(new Uint8Array(16))) call.peerTag = this.deps.random.bytes(16);
    this.deps.sendToUser(call.participantId, new Api.UpdatePhoneCall({ phoneCall: phoneCallView(call, call.participantId, this.settings(call, call.participantId)) }));
    return this.result(call, phoneCallView(call, from, this.settings(call, call.adminId)));
  }

  private discardCall(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    if (call.state !== 'discarded') {
      const reason = decodeDiscardReason(req.reason) ?? 'hangup';
      const duration = call.state === 'active' && typeof req.duration === 'number' ? Math.max(0, req.duration) : 0;
      this.discard(call, reason, duration, from);
    }
    return new Api.Updates({
      updates: [new Api.UpdatePhoneCall({ phoneCall: discardedView(call) })],
      users: [],
      chats: [],
      date: nowSeconds(),
      seq: 0,
    });
  }

  private sendSignalingData(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    if (call.state !== 'active' && call.state !== 'accepted') throw fakeRpcError('CALL_PEER_INVALID', 400);
    const to = from === call.adminId ? call.participantId : call.adminId;
    const index = from === call.adminId ? call.sentByAdmin++ : call.sentByParticipant++;
    const data = new Uint8Array(req.data as Uint8Array);
    this.deps.relaySignaling({ from, to, callId: call.id, data, index });
    return true;
  }

  private setCallRating(from: bigint, req: TlObjectLike): unknown {
    const call = this.callFor(from, req.peer, 'either');
    const rating = typeof req.rating === 'number' ? req.rating : 0;
    if (rating < 1 || rating > 5) throw fakeRpcError('CALL_RATING_INVALID', 400);
    call.rating = { from, rating, comment: typeof req.comment === 'string' ? req.comment : '' };
    return new Api.Updates({ updates: [], users: [], chats: [], date: nowSeconds(), seq: 0 });
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
    call.needRating = this.deps.options.needRating ?? wasActive;
    call.needDebug = this.deps.options.needDebug ?? false;
    const update = (): Api.UpdatePhoneCall => new Api.UpdatePhoneCall({ phoneCall: discardedView(call) });
    if (by !== call.adminId) this.deps.sendToUser(call.adminId, update());
    if (by !== call.participantId && call.participantNotified) this.deps.sendToUser(call.participantId, update());
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

  /**
   * What goes into `viewer`'s phoneCall: the options (with the fake reflector's entry), then the
   * per-call, per-side `callSettings` hook.
   */
  private settings(call: ServerCall, viewer: bigint): CallSettings {
    const { connections, p2pAllowed, customParameters: option, callSettings } = this.deps.options;
    const info = this.info(call);
    const reflector = call.peerTag ? this.deps.reflectorEntry(call.peerTag) : undefined;
    const defaults: FakeCallSettings = {
      connections: [...(connections ?? []), ...(reflector ? [reflector] : [])],
      p2pAllowed: p2pAllowed ?? true,
      customParameters: typeof option === 'function' ? option(info) : option,
    };
    return { ...defaults, ...callSettings?.({ call: info, viewer, defaults }) };
  }

  private result(call: ServerCall, phoneCall: Api.TypePhoneCall): Api.phone.PhoneCall {
    return phoneCallResult(
      phoneCall,
      [call.adminId, call.participantId].map((id) => this.deps.user(id)!),
    );
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
      peerTag: c.peerTag ? new Uint8Array(c.peerTag) : undefined,
    };
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
