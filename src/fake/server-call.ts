/**
 * The fake server's record of a call and what it shows of it (`FakeCallInfo`), the users and
 * surroundings the phone service needs (`PhoneServiceDeps`), and the RPC errors it throws the way
 * GramJS's real client surfaces them.
 */
import { Api, errors } from 'telegram';
import type { CallProtocolRecord, DiscardReason } from '../signaling/phone-call-record.js';
import type { FakeConnection, FakeSignalingPacket, FakeTelegramOptions } from './fake-options.js';
import type { SeededRandom } from './seeded-random.js';
import type { TimerSet } from './timer-set.js';

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
  /** The peer tag of the fake reflector's entry in this call (undefined without `reflector`). */
  readonly peerTag: Uint8Array | undefined;
}

/** A registered user, as the phone service sees it. */
export interface ServiceUser {
  readonly id: bigint;
  readonly accessHash: bigint;
  readonly name: string;
  readonly callsAllowed: boolean;
}

/** @internal what the phone service needs from the fake around it. */
export interface PhoneServiceDeps {
  readonly options: FakeTelegramOptions;
  /** Shared with the fake, so one seed drives every choice in the same order. */
  readonly random: SeededRandom;
  readonly timers: TimerSet;
  user(id: bigint): ServiceUser | undefined;
  /** Delivers one update to every session of `userId` (through the update hook). */
  sendToUser(userId: bigint, update: Api.TypeUpdate): void;
  /** Relays one phone.sendSignalingData packet to the other side (through the signaling hook). */
  relaySignaling(packet: FakeSignalingPacket): void;
  /** The fake's own reflector as a call's entry with this peer tag; undefined when it runs none. */
  reflectorEntry(peerTag: Uint8Array): FakeConnection | undefined;
}

/** @internal the server's record of one call. */
export interface ServerCall {
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
  /** `migrate`: the conference link slug sent with the reason. */
  migrationSlug: string | undefined;
  needRating: boolean;
  needDebug: boolean;
  sentByAdmin: number;
  sentByParticipant: number;
  rating: FakeCallInfo['rating'];
  debug: string[];
  cancelRing: (() => void) | undefined;
  /** The call's reflector peer tag (16 bytes), drawn when the call becomes active and a reflector runs. */
  peerTag: Uint8Array | undefined;
}

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
