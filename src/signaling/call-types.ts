/**
 * The types of one call's signaling lifecycle, apart from the machine that produces them: its
 * direction and states, the requests it asks its driver to make, and what it reports when the key
 * is agreed (`CallReadyInfo`) and when the call ends (`CallEndInfo`).
 */
import type { TgCallError } from '../errors.js';
import type { CallProtocolRecord, DiscardReason, PhoneConnection } from './phone-call-record.js';

/** Who placed the call: we did (`outgoing`, the caller, TL admin) or the peer did (`incoming`, the callee, TL participant). */
export type CallDirection = 'outgoing' | 'incoming';

/**
 * requesting: caller fetching DH config / waiting for phone.requestCall;
 * waiting: the server has the call, the callee's device has not confirmed receipt;
 * ringing: the callee's device rings (both roles);
 * accepting: callee answered, DH + phone.acceptCall in progress;
 * exchanging-keys: g_a/g_b exchange in progress; ready: key agreed;
 * ending: phone.discardCall sent, waiting for its answer; ended: final.
 */
export type SignalingState = 'requesting' | 'waiting' | 'ringing' | 'accepting' | 'exchanging-keys' | 'ready' | 'ending' | 'ended';

export interface InputCallRef {
  readonly id: bigint;
  readonly accessHash: bigint;
}

export type CallRequest =
  | { readonly method: 'getDhConfig'; readonly version: number; readonly randomLength: number }
  | {
      readonly method: 'requestCall';
      readonly userId: bigint;
      readonly userAccessHash: bigint | undefined;
      readonly randomId: number;
      readonly gAHash: Uint8Array;
      readonly protocol: CallProtocolRecord;
      readonly video: boolean;
    }
  | { readonly method: 'receivedCall'; readonly peer: InputCallRef }
  | { readonly method: 'acceptCall'; readonly peer: InputCallRef; readonly gB: Uint8Array; readonly protocol: CallProtocolRecord }
  | {
      readonly method: 'confirmCall';
      readonly peer: InputCallRef;
      readonly gA: Uint8Array;
      readonly keyFingerprint: bigint;
      readonly protocol: CallProtocolRecord;
    }
  | {
      readonly method: 'discardCall';
      readonly peer: InputCallRef;
      readonly duration: number;
      readonly reason: DiscardReason;
      readonly video: boolean;
    };

export interface CallReadyInfo {
  readonly callId: bigint;
  readonly accessHash: bigint;
  readonly peerUserId: bigint;
  /** True on the caller (EncryptionKey.isOutgoing, §2.7). */
  readonly isOutgoing: boolean;
  /** The 256-byte shared key. Never log it. */
  readonly key: Uint8Array;
  /** SHA1(key)[12..20] as a signed int64 (§2.6). */
  readonly keyFingerprint: bigint;
  readonly emoji: readonly string[];
  readonly emojiIndices: readonly number[];
  /** `protocol.library_versions[0]` of the final phoneCall (§8). */
  readonly version: string;
  readonly protocol: CallProtocolRecord;
  readonly connections: readonly PhoneConnection[];
  readonly p2pAllowed: boolean;
  /** `custom_parameters` parsed as JSON (undefined when absent or not a JSON object). */
  readonly customParameters: Readonly<Record<string, unknown>> | undefined;
  readonly customParametersJson: string | undefined;
  readonly video: boolean;
}

export interface CallEndInfo {
  /** The discard reason: ours when we ended the call, the server's when the other side did. */
  readonly reason: DiscardReason;
  readonly by: 'local' | 'remote';
  /** Seconds; the server's value when it sent one, else measured from "ready". */
  readonly duration: number;
  readonly needRating: boolean;
  readonly needDebug: boolean;
  /** Set when the call ended because of a failure or a timeout. */
  readonly error: TgCallError | undefined;
  /**
   * `reason: 'migrate'`: the other side moved the call into a group call; this is its conference
   * link slug (`https://t.me/call/<slug>`), so the application can follow the user there.
   */
  readonly slug?: string;
}

export type MachineOutput =
  | { readonly type: 'invoke'; readonly id: number; readonly request: CallRequest }
  | { readonly type: 'bound'; readonly callId: bigint }
  | { readonly type: 'state'; readonly state: SignalingState }
  | { readonly type: 'ringing' }
  | { readonly type: 'ready'; readonly info: CallReadyInfo }
  | { readonly type: 'ended'; readonly info: CallEndInfo };
