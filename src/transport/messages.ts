/**
 * The tgcalls InstanceV2 JSON signaling messages (versions 8.0.0 / 9.0.0; transport-v2.md §2,
 * transport-v2-sources.md §1): `InitialSetup`, `Candidates`, `NegotiateChannels`, `MediaState`.
 *
 * Sans-I/O codec. `decodeSignalingMessage` never throws: it returns the typed message, an
 * "unknown type" result (unknown `@type` values must be ignored) or a `ProtocolError`. Validation
 * follows what tgcalls `Signaling.cpp` and ntgcalls read: a field tgcalls rejects makes the whole
 * message a `ProtocolError`. uint32 ids that tgcalls sends as decimal strings (`exchangeId`, `ssrc`,
 * `ssrcs[]`) are numbers here and strings on the wire. NegotiateChannels' own types and codec are in
 * negotiate-channels-message.ts.
 */
import { ProtocolError } from '../errors.js';
import {
  FieldError,
  MAX_STRING_LENGTH,
  asObject,
  isObject,
  optionalBoolean,
  own,
  requiredArray,
  requiredString,
  type JsonObject,
} from './json-fields.js';
import { negotiateChannelsToWire, parseNegotiateChannels, type NegotiateChannelsMessage } from './negotiate-channels-message.js';

export type {
  CodecParameter,
  FeedbackType,
  MediaContent,
  MediaContentType,
  NegotiateChannelsMessage,
  PayloadType,
  RtpExtension,
  SsrcGroup,
} from './negotiate-channels-message.js';

export interface DtlsFingerprint {
  /** Hash algorithm as in SDP, e.g. `sha-256`. */
  readonly hash: string;
  /** `actpass` (caller), `passive` (callee) or `active`. */
  readonly setup: string;
  /** Upper-case colon-separated hex, the value after `a=fingerprint:<hash> `. */
  readonly fingerprint: string;
}

export interface InitialSetupMessage {
  readonly type: 'InitialSetup';
  readonly ufrag: string;
  readonly pwd: string;
  /** Optional on the wire (default false); ntgcalls rejects a non-boolean. */
  readonly renomination: boolean;
  /** Only `[0]` is used by tgcalls; may be empty on the wire. */
  readonly fingerprints: readonly DtlsFingerprint[];
}

export interface IceCandidate {
  /** The SDP candidate attribute value without `a=`, e.g. `candidate:1 1 udp 2122260224 10.0.0.1 5000 typ host`. */
  readonly sdpString: string;
  /** Sent by ntgcalls 3.x only (`""`); ignored by tgcalls. */
  readonly sdpMid?: string;
  /** Sent by ntgcalls 3.x only (`0`); ignored by tgcalls. */
  readonly sdpMLineIndex?: number;
}

export interface CandidatesMessage {
  readonly type: 'Candidates';
  readonly candidates: readonly IceCandidate[];
}

export type VideoState = 'inactive' | 'suspended' | 'active';
export type VideoRotation = 0 | 90 | 180 | 270;

export interface MediaState {
  readonly muted: boolean;
  readonly lowBattery: boolean;
  readonly videoState: VideoState;
  readonly videoRotation: VideoRotation;
  readonly screencastState: VideoState;
}

export interface MediaStateMessage extends MediaState {
  readonly type: 'MediaState';
}

export type SignalingMessage = InitialSetupMessage | CandidatesMessage | NegotiateChannelsMessage | MediaStateMessage;

export type SignalingMessageType = SignalingMessage['type'];

export type DecodeResult =
  | { readonly kind: 'message'; readonly message: SignalingMessage }
  /** A well-formed JSON object whose `@type` we do not know: to be ignored and counted. */
  | { readonly kind: 'unknown'; readonly type: string }
  | { readonly kind: 'error'; readonly error: ProtocolError };

export const DEFAULT_MEDIA_STATE: MediaState = {
  muted: false,
  lowBattery: false,
  videoState: 'inactive',
  videoRotation: 0,
  screencastState: 'inactive',
};

/** Largest JSON payload accepted (the v2 framing caps a message at 1 MiB, call-crypto-and-signaling.md §5.3). */
export const MAX_SIGNALING_MESSAGE_BYTES = 1024 * 1024;

// Bounds on every array (strings: json-fields.ts; NegotiateChannels' own: negotiate-channels-message.ts), far above
// anything tgcalls/ntgcalls send, so a hostile message cannot make decoding loop for long.
const LIMITS = {
  candidates: 256,
  fingerprints: 16,
} as const;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decodes one signaling payload (UTF-8 JSON bytes or an already-decoded string). Never throws. */
export function decodeSignalingMessage(payload: Uint8Array | string): DecodeResult {
  try {
    let text: string;
    if (typeof payload === 'string') {
      if (payload.length > MAX_SIGNALING_MESSAGE_BYTES) return error('SIGNALING_MESSAGE_TOO_LARGE', `${payload.length} characters`);
      text = payload;
    } else {
      if (payload.length > MAX_SIGNALING_MESSAGE_BYTES) return error('SIGNALING_MESSAGE_TOO_LARGE', `${payload.length} bytes`);
      try {
        text = utf8Decoder.decode(payload);
      } catch {
        return error('SIGNALING_MESSAGE_NOT_UTF8', 'payload is not valid UTF-8');
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return error('SIGNALING_MESSAGE_NOT_JSON', 'payload is not valid JSON');
    }
    if (!isObject(json)) return error('SIGNALING_MESSAGE_NOT_OBJECT', 'payload is not a JSON object');
    const type = own(json, '@type');
    if (typeof type !== 'string') return error('SIGNALING_MESSAGE_NO_TYPE', '"@type" is missing or not a string');
    switch (type) {
      case 'InitialSetup':
        return { kind: 'message', message: parseInitialSetup(json) };
      case 'Candidates':
        return { kind: 'message', message: parseCandidates(json) };
      case 'NegotiateChannels':
        return { kind: 'message', message: parseNegotiateChannels(json) };
      case 'MediaState':
        return { kind: 'message', message: parseMediaState(json) };
      default:
        return { kind: 'unknown', type: type.slice(0, 64) };
    }
  } catch (err) {
    if (err instanceof FieldError) return error('SIGNALING_MESSAGE_INVALID', err.message);
    // Anything else (e.g. a RangeError on absurd nesting) is still bad input, never a crash.
    return error('SIGNALING_MESSAGE_INVALID', err instanceof Error ? err.message : 'undecodable message');
  }
}

/** Serializes a message the way tgcalls does (`@type` first, ids as decimal strings), as UTF-8 bytes. */
export function encodeSignalingMessage(message: SignalingMessage): Uint8Array {
  return utf8Encoder.encode(signalingMessageToJson(message));
}

/** Same as `encodeSignalingMessage` but as a JSON string (data channel text messages). */
export function signalingMessageToJson(message: SignalingMessage): string {
  return JSON.stringify(toWire(message));
}

function toWire(message: SignalingMessage): JsonObject {
  switch (message.type) {
    case 'InitialSetup':
      return {
        '@type': 'InitialSetup',
        ufrag: message.ufrag,
        pwd: message.pwd,
        renomination: message.renomination,
        fingerprints: message.fingerprints.map((f) => ({ hash: f.hash, setup: f.setup, fingerprint: f.fingerprint })),
      };
    case 'Candidates':
      return {
        '@type': 'Candidates',
        candidates: message.candidates.map((c) => {
          const o: JsonObject = { sdpString: c.sdpString };
          if (c.sdpMid !== undefined) o.sdpMid = c.sdpMid;
          if (c.sdpMLineIndex !== undefined) o.sdpMLineIndex = c.sdpMLineIndex;
          return o;
        }),
      };
    case 'NegotiateChannels':
      return negotiateChannelsToWire(message);
    case 'MediaState':
      // All five keys, always: tgcalls' parser reads videoRotation through the videoState entry
      // (transport-v2-sources.md §1.4), so videoState must never be missing.
      return {
        '@type': 'MediaState',
        muted: message.muted,
        lowBattery: message.lowBattery,
        videoState: message.videoState,
        videoRotation: message.videoRotation,
        screencastState: message.screencastState,
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

function parseInitialSetup(o: JsonObject): InitialSetupMessage {
  const ufrag = requiredString(o, 'ufrag');
  const pwd = requiredString(o, 'pwd');
  const renominationRaw = own(o, 'renomination');
  let renomination = false;
  if (renominationRaw !== undefined) {
    if (typeof renominationRaw !== 'boolean') throw new FieldError('renomination is not a boolean');
    renomination = renominationRaw;
  }
  const fingerprints = requiredArray(o, 'fingerprints', LIMITS.fingerprints).map((item, i) => {
    const f = asObject(item, `fingerprints[${i}]`);
    return {
      hash: requiredString(f, 'hash', `fingerprints[${i}].`),
      setup: requiredString(f, 'setup', `fingerprints[${i}].`),
      fingerprint: requiredString(f, 'fingerprint', `fingerprints[${i}].`),
    };
  });
  return { type: 'InitialSetup', ufrag, pwd, renomination, fingerprints };
}

function parseCandidates(o: JsonObject): CandidatesMessage {
  const candidates = requiredArray(o, 'candidates', LIMITS.candidates).map((item, i): IceCandidate => {
    const c = asObject(item, `candidates[${i}]`);
    const sdpString = requiredString(c, 'sdpString', `candidates[${i}].`);
    const mid = own(c, 'sdpMid');
    const index = own(c, 'sdpMLineIndex');
    const candidate: { sdpString: string; sdpMid?: string; sdpMLineIndex?: number } = { sdpString };
    if (mid !== undefined && mid !== null) {
      if (typeof mid !== 'string' || mid.length > MAX_STRING_LENGTH) throw new FieldError(`candidates[${i}].sdpMid is not a string`);
      candidate.sdpMid = mid;
    }
    if (index !== undefined && index !== null) {
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 0xffff) {
        throw new FieldError(`candidates[${i}].sdpMLineIndex is not a small non-negative integer`);
      }
      candidate.sdpMLineIndex = index;
    }
    return candidate;
  });
  return { type: 'Candidates', candidates };
}

function parseMediaState(o: JsonObject): MediaStateMessage {
  return {
    type: 'MediaState',
    muted: optionalBoolean(o, 'muted', false),
    lowBattery: optionalBoolean(o, 'lowBattery', false),
    videoState: optionalVideoState(o, 'videoState'),
    videoRotation: optionalRotation(o),
    screencastState: optionalVideoState(o, 'screencastState'),
  };
}

function optionalVideoState(o: JsonObject, key: string): VideoState {
  const v = own(o, key);
  if (v === undefined) return 'inactive';
  if (typeof v !== 'string') throw new FieldError(`${key} is not a string`);
  // tgcalls keeps the default for an unknown value rather than rejecting the message.
  return v === 'active' || v === 'suspended' ? v : 'inactive';
}

function optionalRotation(o: JsonObject): VideoRotation {
  const v = own(o, 'videoRotation');
  if (v === undefined) return 0;
  if (typeof v !== 'number') throw new FieldError('videoRotation is not a number');
  return v === 90 || v === 180 || v === 270 ? v : 0;
}

function error(code: string, message: string): DecodeResult {
  return { kind: 'error', error: new ProtocolError(code, message) };
}
