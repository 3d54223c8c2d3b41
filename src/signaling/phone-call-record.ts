/**
 * Plain, validated views of the TL phone-call objects (call-crypto-and-signaling.md §1). Decoders
 * read by `className` and field names, copy bytes into `Uint8Array`, turn `long` into `bigint`, and
 * reject malformed objects with `ProtocolError('BAD_TL')`.
 */
import { ProtocolError } from '../errors.js';
import { readLong } from './long.js';
import { isTlObject, type TlObjectLike } from './mtproto.js';

export type DiscardReason = 'missed' | 'disconnect' | 'hangup' | 'busy' | 'migrate';

export interface CallProtocolRecord {
  readonly udpP2p: boolean;
  readonly udpReflector: boolean;
  readonly minLayer: number;
  readonly maxLayer: number;
  readonly libraryVersions: readonly string[];
}

/**
 * A relay/TURN/STUN server from `phoneCall.connections`, as a plain object: TL
 * `phoneConnectionWebrtc` (`kind: 'webrtc'`) or the legacy reflector `phoneConnection`
 * (`kind: 'reflector'`). The fake's `FakeConnection` and the network edge's `WebrtcServerInput`
 * (the transport's `WebrtcConnection`) and `ReflectorConnectionInput` are derived from this one
 * declaration.
 */
export type PhoneConnection =
  | {
      readonly kind: 'webrtc';
      readonly id: bigint;
      readonly ip: string;
      readonly ipv6: string;
      readonly port: number;
      readonly username: string;
      readonly password: string;
      readonly turn: boolean;
      readonly stun: boolean;
    }
  | {
      readonly kind: 'reflector';
      readonly id: bigint;
      readonly ip: string;
      readonly ipv6: string;
      readonly port: number;
      readonly peerTag: Uint8Array;
      readonly tcp: boolean;
    };

/** The fields every phoneCall* object except empty and discarded carries. */
export interface PhoneCallHeader {
  readonly id: bigint;
  readonly accessHash: bigint;
  readonly date: number;
  readonly adminId: bigint;
  readonly participantId: bigint;
  readonly protocol: CallProtocolRecord;
  readonly video: boolean;
}

export type PhoneCallRecord =
  | { readonly kind: 'empty'; readonly id: bigint }
  | (PhoneCallHeader & { readonly kind: 'waiting'; readonly receiveDate: number | undefined })
  | (PhoneCallHeader & { readonly kind: 'requested'; readonly gAHash: Uint8Array })
  | (PhoneCallHeader & { readonly kind: 'accepted'; readonly gB: Uint8Array })
  | (PhoneCallHeader & {
      readonly kind: 'call';
      readonly gAOrB: Uint8Array;
      readonly keyFingerprint: bigint;
      readonly connections: readonly PhoneConnection[];
      readonly startDate: number;
      readonly p2pAllowed: boolean;
      readonly customParameters: string | undefined;
    })
  | {
      readonly kind: 'discarded';
      readonly id: bigint;
      readonly reason: DiscardReason | undefined;
      readonly duration: number | undefined;
      readonly needRating: boolean;
      readonly needDebug: boolean;
      /** `migrate` only: the conference link slug (t.me/call/<slug>) to follow the user into the group call. */
      readonly slug: string | undefined;
      readonly video: boolean;
    };

export type PhoneUpdate =
  | { readonly kind: 'call'; readonly call: PhoneCallRecord }
  | { readonly kind: 'signaling'; readonly callId: bigint; readonly data: Uint8Array };

export type DhConfigRecord =
  | { readonly kind: 'config'; readonly g: number; readonly p: Uint8Array; readonly version: number; readonly random: Uint8Array }
  | { readonly kind: 'not-modified'; readonly random: Uint8Array };

const MAX_CONNECTIONS = 64;
const MAX_VERSIONS = 64;
const MAX_BYTES_FIELD = 1 << 20;

function bad(message: string): never {
  throw new ProtocolError('BAD_TL', message);
}

function obj(value: unknown, what: string): TlObjectLike {
  if (!isTlObject(value)) bad(`${what} is not a TL object`);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    bad(`${what} is not a 32-bit integer`);
  }
  return value;
}

function optInt(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : int(value, what);
}

function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length > MAX_BYTES_FIELD) bad(`${what} is not a byte string`);
  return new Uint8Array(value);
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') bad(`${what} is not a string`);
  return value;
}

function flag(value: unknown): boolean {
  return value === true;
}

export function decodeProtocol(value: unknown): CallProtocolRecord {
  const p = obj(value, 'protocol');
  if (p.className !== 'PhoneCallProtocol') bad(`unexpected protocol ${p.className}`);
  const versions = p.libraryVersions;
  if (!Array.isArray(versions) || versions.length > MAX_VERSIONS) bad('library_versions is not a vector');
  return {
    udpP2p: flag(p.udpP2p),
    udpReflector: flag(p.udpReflector),
    minLayer: int(p.minLayer, 'min_layer'),
    maxLayer: int(p.maxLayer, 'max_layer'),
    libraryVersions: versions.map((v, i) => str(v, `library_versions[${i}]`)),
  };
}

export function decodeConnection(value: unknown): PhoneConnection {
  const c = obj(value, 'connection');
  const common = {
    id: readLong(c.id, 'connection id'),
    ip: str(c.ip, 'ip'),
    ipv6: str(c.ipv6, 'ipv6'),
    port: int(c.port, 'port'),
  };
  switch (c.className) {
    case 'PhoneConnectionWebrtc':
      return {
        kind: 'webrtc',
        ...common,
        username: str(c.username, 'username'),
        password: str(c.password, 'password'),
        turn: flag(c.turn),
        stun: flag(c.stun),
      };
    case 'PhoneConnection':
      return { kind: 'reflector', ...common, peerTag: bytes(c.peerTag, 'peer_tag'), tcp: flag(c.tcp) };
    default:
      return bad(`unexpected connection ${c.className}`);
  }
}

export function decodeDiscardReason(value: unknown): DiscardReason | undefined {
  if (!isTlObject(value)) return undefined;
  switch (value.className) {
    case 'PhoneCallDiscardReasonMissed':
      return 'missed';
    case 'PhoneCallDiscardReasonDisconnect':
      return 'disconnect';
    case 'PhoneCallDiscardReasonHangup':
      return 'hangup';
    case 'PhoneCallDiscardReasonBusy':
      return 'busy';
    case 'PhoneCallDiscardReasonMigrateConferenceCall':
      return 'migrate';
    default:
      return undefined;
  }
}

/** Longest slug kept: conference links are short (core.telegram.org/api/links#conference-links). */
const MAX_SLUG_LENGTH = 256;

/** The slug of phoneCallDiscardReasonMigrateConferenceCall (layer 202); undefined for other reasons or a bad value. */
export function decodeMigrationSlug(value: unknown): string | undefined {
  if (!isTlObject(value) || value.className !== 'PhoneCallDiscardReasonMigrateConferenceCall') return undefined;
  const slug = value.slug;
  return typeof slug === 'string' && slug.length > 0 && slug.length <= MAX_SLUG_LENGTH ? slug : undefined;
}

function header(c: TlObjectLike): PhoneCallHeader {
  return {
    id: readLong(c.id, 'call id'),
    accessHash: readLong(c.accessHash, 'access_hash'),
    date: int(c.date, 'date'),
    adminId: readLong(c.adminId, 'admin_id'),
    participantId: readLong(c.participantId, 'participant_id'),
    protocol: decodeProtocol(c.protocol),
    video: flag(c.video),
  };
}

export function decodePhoneCall(value: unknown): PhoneCallRecord {
  const c = obj(value, 'phone call');
  switch (c.className) {
    case 'PhoneCallEmpty':
      return { kind: 'empty', id: readLong(c.id, 'call id') };
    case 'PhoneCallWaiting':
      return { kind: 'waiting', ...header(c), receiveDate: optInt(c.receiveDate, 'receive_date') };
    case 'PhoneCallRequested':
      return { kind: 'requested', ...header(c), gAHash: bytes(c.gAHash, 'g_a_hash') };
    case 'PhoneCallAccepted':
      return { kind: 'accepted', ...header(c), gB: bytes(c.gB, 'g_b') };
    case 'PhoneCall': {
      const list = c.connections;
      if (!Array.isArray(list) || list.length > MAX_CONNECTIONS) bad('connections is not a vector');
      const custom = c.customParameters;
      return {
        kind: 'call',
        ...header(c),
        gAOrB: bytes(c.gAOrB, 'g_a_or_b'),
        keyFingerprint: readLong(c.keyFingerprint, 'key_fingerprint'),
        connections: list.map(decodeConnection),
        startDate: int(c.startDate, 'start_date'),
        p2pAllowed: flag(c.p2pAllowed),
        customParameters: isTlObject(custom) && custom.className === 'DataJSON' ? str(custom.data, 'custom_parameters') : undefined,
      };
    }
    case 'PhoneCallDiscarded':
      return {
        kind: 'discarded',
        id: readLong(c.id, 'call id'),
        reason: decodeDiscardReason(c.reason),
        duration: optInt(c.duration, 'duration'),
        needRating: flag(c.needRating),
        needDebug: flag(c.needDebug),
        slug: decodeMigrationSlug(c.reason),
        video: flag(c.video),
      };
    default:
      return bad(`unexpected phone call constructor ${c.className}`);
  }
}

/** Result of requestCall / acceptCall / confirmCall: `phone.PhoneCall{phone_call, users}`. */
export function decodePhoneCallResult(value: unknown): PhoneCallRecord {
  const r = obj(value, 'phone.PhoneCall');
  if (r.className !== 'phone.PhoneCall') bad(`unexpected result ${r.className}`);
  return decodePhoneCall(r.phoneCall);
}

/**
 * A single update -> a phone update, or `undefined` for updates that are not about 1:1 calls.
 * Malformed phone updates throw `ProtocolError('BAD_TL')`.
 */
export function decodePhoneUpdate(value: unknown): PhoneUpdate | undefined {
  if (!isTlObject(value)) return undefined;
  if (value.className === 'UpdatePhoneCall') return { kind: 'call', call: decodePhoneCall(value.phoneCall) };
  if (value.className === 'UpdatePhoneCallSignalingData') {
    return { kind: 'signaling', callId: readLong(value.phoneCallId, 'phone_call_id'), data: bytes(value.data, 'data') };
  }
  return undefined;
}

export function decodeDhConfig(value: unknown): DhConfigRecord {
  const d = obj(value, 'messages.DhConfig');
  if (d.className === 'messages.DhConfig') {
    return { kind: 'config', g: int(d.g, 'g'), p: bytes(d.p, 'p'), version: int(d.version, 'version'), random: bytes(d.random, 'random') };
  }
  if (d.className === 'messages.DhConfigNotModified') return { kind: 'not-modified', random: bytes(d.random, 'random') };
  return bad(`unexpected DH config ${d.className}`);
}

/** Bool results: GramJS returns JS booleans. */
export function decodeBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (isTlObject(value)) {
    if (value.className === 'BoolTrue') return true;
    if (value.className === 'BoolFalse') return false;
  }
  return bad('result is not a Bool');
}
