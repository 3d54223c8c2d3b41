/**
 * Wire format of Telegram's call "reflector" relay, as tgcalls' `ReflectorPort` (InstanceV2
 * generation) and ntgcalls speak it. Pure functions: encoders for what a client sends, a parser of
 * what a reflector sends back that never throws (a bad datagram is a drop reason), and the server
 * side (client-packet parser, SELF_INFO reply) for the fake reflector.
 *
 * Spec: ../shared/protocol/reflector.md (cited R§n) and reflector-shim.md §4 (S§4).
 * Byte order (R§3): `rtc::ByteBufferWriter` writes big-endian, while the 4-byte port ids are
 * memcpy'd from a `uint32_t`, i.e. little-endian on every real target.
 */
import { isIP } from 'node:net';

/** `phoneConnection.peer_tag` length; only its first 12 bytes ever go on the wire (R§2). */
export const REFLECTOR_PEER_TAG_LENGTH = 16;
export const REFLECTOR_TAG_PREFIX_LENGTH = 12;
export const REFLECTOR_UDP_HELLO_LENGTH = 40;
export const REFLECTOR_TCP_HELLO_LENGTH = 20;
/** tag12 | dstId | srcId | BE32 length, before the payload (R§3.3). */
export const REFLECTOR_DATA_HEADER_LENGTH = 24;
export const REFLECTOR_SELF_INFO_LENGTH = 64;
/** The constant "query id" of every hello: uint64 123, big-endian (R§3.1; not a sequence number). */
export const REFLECTOR_HELLO_QUERY = 123n;
/** libtgvoip's TLID_UDP_REFLECTOR_SELF_INFO, the assumed hello reply (R§3.2). */
export const REFLECTOR_SELF_INFO_TLID = 0xc01572c7;
/** tgcalls uses port 599 when the server entry says 0 (R§2, `PrepareAddress`). */
export const REFLECTOR_DEFAULT_PORT = 599;
/**
 * Priorities ntgcalls 3.0.5 put on its reflector candidates (R§4, R§5.1, verified): relay type
 * preference for UDP resp. TCP, same local part. The candidate's protocol is `udp` either way.
 */
export const REFLECTOR_UDP_CANDIDATE_PRIORITY = 58655488;
export const REFLECTOR_TCP_CANDIDATE_PRIORITY = 25101056;
/** Largest payload one DATA packet can carry inside a UDP datagram (65507 − 24 header − 3 pad). */
export const REFLECTOR_MAX_UDP_PAYLOAD = 65480;

const HELLO_MARK_LENGTH = 16; // ff*12 | fe ff ff ff  (int32 −2 LE: libtgvoip's "UDP ping")
const STUN_COOKIE = 0x2112a442;

/** Why a datagram from the reflector was not accepted (tgcalls `HandleIncomingPacket`, R§3.4). */
export type ReflectorDropReason = 'short' | 'wrong-tag' | 'bad-length';

/**
 * One datagram (or TCP frame) from the reflector, already known to come from its address.
 * Every kind except `drop` passed the tag check; so did `drop`/`bad-length` — tgcalls marks the
 * port READY for all of those (R§3.2). `payload` aliases the input buffer.
 */
export type ServerDatagram =
  | { readonly kind: 'ready' }
  | { readonly kind: 'special' }
  | { readonly kind: 'data'; readonly senderId: number; readonly payload: Uint8Array }
  | { readonly kind: 'drop'; readonly reason: ReflectorDropReason };

const READY: ServerDatagram = Object.freeze({ kind: 'ready' });
const SPECIAL: ServerDatagram = Object.freeze({ kind: 'special' });
const DROP_SHORT: ServerDatagram = Object.freeze({ kind: 'drop', reason: 'short' });
const DROP_WRONG_TAG: ServerDatagram = Object.freeze({ kind: 'drop', reason: 'wrong-tag' });
const DROP_BAD_LENGTH: ServerDatagram = Object.freeze({ kind: 'drop', reason: 'bad-length' });

function checkTag(tag: Uint8Array): void {
  if (tag.length < REFLECTOR_TAG_PREFIX_LENGTH) {
    throw new RangeError(`reflector tag needs at least ${REFLECTOR_TAG_PREFIX_LENGTH} bytes, got ${tag.length}`);
  }
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new RangeError(`${what} must be a uint32 > 0, got ${id}`);
}

function writeUint32LE(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

export function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

function readUint32BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function tagMatches(packet: Uint8Array, tag: Uint8Array): boolean {
  for (let i = 0; i < REFLECTOR_TAG_PREFIX_LENGTH; i++) if (packet[i] !== tag[i]) return false;
  return true;
}

function allFf(bytes: Uint8Array, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) if (bytes[i] !== 0xff) return false;
  return true;
}

/** The 4 little-endian bytes of a port id as they appear on the wire (R§2). */
export function idToWire(id: number): Uint8Array {
  checkId(id, 'id');
  const out = new Uint8Array(4);
  writeUint32LE(out, 0, id);
  return out;
}

/** UDP hello/ping, 40 bytes: tag12 | myId LE | ff*12 | fe ff ff ff | BE64 123 (R§3.1). */
export function encodeUdpHello(tag: Uint8Array, myId: number): Uint8Array {
  checkTag(tag);
  checkId(myId, 'myId');
  const out = new Uint8Array(REFLECTOR_UDP_HELLO_LENGTH);
  out.set(tag.subarray(0, REFLECTOR_TAG_PREFIX_LENGTH), 0);
  writeUint32LE(out, 12, myId);
  out.fill(0xff, 16, 28);
  out.set([0xfe, 0xff, 0xff, 0xff], 28);
  new DataView(out.buffer).setBigUint64(32, REFLECTOR_HELLO_QUERY, false);
  return out;
}

/** TCP hello (one frame's content), 20 bytes: tag12 | myId LE | 00 00 00 00 (R§4). */
export function encodeTcpHello(tag: Uint8Array, myId: number): Uint8Array {
  checkTag(tag);
  checkId(myId, 'myId');
  const out = new Uint8Array(REFLECTOR_TCP_HELLO_LENGTH);
  out.set(tag.subarray(0, REFLECTOR_TAG_PREFIX_LENGTH), 0);
  writeUint32LE(out, 12, myId);
  return out;
}

/** Bytes a DATA packet adds to a payload of `length`: 24-byte header plus zero padding to 4. */
export function dataOverhead(length: number): number {
  return REFLECTOR_DATA_HEADER_LENGTH + ((4 - (length % 4)) % 4);
}

/**
 * Client DATA (R§3.3, S§4): tag12 | dstId LE | myId LE | BE32 length | payload | zero pad to 4.
 * The destination id sits where the peer tag's last 4 bytes would: the reflector routes on it.
 */
export function encodeData(tag: Uint8Array, dstId: number, myId: number, payload: Uint8Array): Uint8Array {
  checkTag(tag);
  checkId(dstId, 'dstId');
  checkId(myId, 'myId');
  const out = new Uint8Array(payload.length + dataOverhead(payload.length));
  out.set(tag.subarray(0, REFLECTOR_TAG_PREFIX_LENGTH), 0);
  writeUint32LE(out, 12, dstId);
  writeUint32LE(out, 16, myId);
  const len = payload.length;
  out[20] = (len >>> 24) & 0xff;
  out[21] = (len >>> 16) & 0xff;
  out[22] = (len >>> 8) & 0xff;
  out[23] = len & 0xff;
  out.set(payload, REFLECTOR_DATA_HEADER_LENGTH);
  return out;
}

/**
 * What a client makes of a datagram from the reflector's address (tgcalls
 * `ReflectorPort::HandleIncomingPacket`, R§3.4): < 16 bytes → short; bytes 0..11 ≠ our tag →
 * wrong tag (bytes 12..15 are deliberately not checked); ≤ 24 bytes → a bare "ready" signal;
 * bytes 16..27 all ff → a special packet (hello reply), ignored; otherwise DATA from the LE32
 * sender id at 16 with a BE32 length at 20 that must fit (padding after it is ignored).
 */
export function parseServerDatagram(packet: Uint8Array, tag: Uint8Array): ServerDatagram {
  if (packet.length < REFLECTOR_PEER_TAG_LENGTH) return DROP_SHORT;
  if (!tagMatches(packet, tag)) return DROP_WRONG_TAG;
  if (packet.length <= REFLECTOR_DATA_HEADER_LENGTH) return READY;
  if (packet.length >= 28 && allFf(packet, 16, 12)) return SPECIAL;
  const length = readUint32BE(packet, 20);
  if (length > packet.length - REFLECTOR_DATA_HEADER_LENGTH) return DROP_BAD_LENGTH;
  return {
    kind: 'data',
    senderId: readUint32LE(packet, 16),
    payload: packet.subarray(REFLECTOR_DATA_HEADER_LENGTH, REFLECTOR_DATA_HEADER_LENGTH + length),
  };
}

// ---------------------------------------------------------------- server side (fake reflector)

/** A packet a client sent to a reflector, classified the way the fake routes it (R§3.5). */
export type ClientPacket =
  | { readonly kind: 'hello'; readonly tag: Uint8Array; readonly id: number; readonly query: Uint8Array }
  | { readonly kind: 'tcp-hello'; readonly tag: Uint8Array; readonly id: number }
  | {
      readonly kind: 'data';
      readonly tag: Uint8Array;
      readonly dstId: number;
      readonly srcId: number;
      readonly payloadLength: number;
    }
  /** A plain STUN message (libwebrtc uses TURN servers as STUN servers when p2p is allowed, R§3.5). */
  | { readonly kind: 'stun' }
  /** bytes 16..27 all ff but not a hello, e.g. libtgvoip's ff*16 endpoint request. */
  | { readonly kind: 'special' }
  | { readonly kind: 'drop'; readonly reason: 'short' | 'bad-length' | 'unknown' };

function isStun(packet: Uint8Array): boolean {
  // Type's top two bits zero, the magic cookie, and a length field that matches the datagram.
  return (
    packet.length >= 20 &&
    packet.length % 4 === 0 &&
    packet[0]! < 0x40 &&
    readUint32BE(packet, 4) === STUN_COOKIE &&
    ((packet[2]! << 8) | packet[3]!) === packet.length - 20
  );
}

/** `tag` and `query` alias the input. `transport` decides whether a 20-byte `tag16|0000` is a hello. */
export function parseClientPacket(packet: Uint8Array, transport: 'udp' | 'tcp'): ClientPacket {
  if (isStun(packet)) return { kind: 'stun' };
  if (packet.length < REFLECTOR_PEER_TAG_LENGTH) return { kind: 'drop', reason: 'short' };
  const tag = packet.subarray(0, REFLECTOR_TAG_PREFIX_LENGTH);
  const id = readUint32LE(packet, 12);
  if (transport === 'tcp' && packet.length === REFLECTOR_TCP_HELLO_LENGTH && readUint32LE(packet, 16) === 0) {
    return { kind: 'tcp-hello', tag, id };
  }
  if (packet.length >= 32 && allFf(packet, 16, 12) && readUint32LE(packet, 28) === 0xfffffffe) {
    const query = packet.length >= 40 ? packet.subarray(32, 40) : new Uint8Array(8);
    return { kind: 'hello', tag, id, query };
  }
  if (packet.length >= 28 && allFf(packet, 16, 12)) return { kind: 'special' };
  if (packet.length <= REFLECTOR_DATA_HEADER_LENGTH) return { kind: 'drop', reason: 'unknown' };
  const payloadLength = readUint32BE(packet, 20);
  if (payloadLength > packet.length - REFLECTOR_DATA_HEADER_LENGTH) return { kind: 'drop', reason: 'bad-length' };
  return { kind: 'data', tag, dstId: id, srcId: readUint32LE(packet, 16), payloadLength };
}

/** 16-byte IPv6 form of an address (IPv4 as ::ffff:a.b.c.d); zeros for anything unparsable. */
function ip16(address: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = address.split('%')[0] ?? ''; // drop an IPv6 zone id
  const family = isIP(text);
  if (family === 0) return out;
  if (family === 4) text = `::ffff:${text}`;
  // An embedded dotted IPv4 tail is two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >>> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/**
 * The reply the fake gives to a UDP hello, libtgvoip's SELF_INFO shape (64 bytes, R§3.2,
 * [inferred]): tag16 echoed | ff*12 | LE32 0xc01572c7 | LE32 unix date | query echoed (8) |
 * client IP as 16-byte IPv6 (IPv4-mapped) | LE32 client port.
 */
export function encodeSelfInfo(
  tag16: Uint8Array,
  query: Uint8Array,
  client: { readonly address: string; readonly port: number },
  unixTime: number,
): Uint8Array {
  if (tag16.length < REFLECTOR_PEER_TAG_LENGTH) throw new RangeError('SELF_INFO echoes a 16-byte tag');
  if (query.length !== 8) throw new RangeError('SELF_INFO echoes an 8-byte query id');
  const out = new Uint8Array(REFLECTOR_SELF_INFO_LENGTH);
  out.set(tag16.subarray(0, 16), 0);
  out.fill(0xff, 16, 28);
  writeUint32LE(out, 28, REFLECTOR_SELF_INFO_TLID);
  writeUint32LE(out, 32, unixTime >>> 0);
  out.set(query, 36);
  out.set(ip16(client.address), 44);
  writeUint32LE(out, 60, client.port >>> 0);
  return out;
}

// ---------------------------------------------------------------- hostnames and candidates

/** `reflector-<serverId>-<id decimal>.reflector`, the address of a reflector candidate (R§5.1). */
export function reflectorHostname(serverId: number, id: number): string {
  checkServerId(serverId);
  checkId(id, 'id');
  return `reflector-${serverId}-${id}.reflector`;
}

const HOSTNAME = /^reflector-([1-9]\d{0,2})-([1-9]\d{0,9})\.reflector$/;

/**
 * Inverse of `reflectorHostname`; undefined for anything else. Stricter than tgcalls (which reads
 * the id with `operator>>` and only refuses 0, R§3.3): canonical decimal only, id ≤ 2^32−1,
 * serverId 1..255.
 */
export function parseReflectorHostname(hostname: string): { serverId: number; id: number } | undefined {
  const m = HOSTNAME.exec(hostname);
  if (!m) return undefined;
  const serverId = Number(m[1]);
  const id = Number(m[2]);
  if (serverId > 255 || id > 0xffffffff) return undefined;
  return { serverId, id };
}

function checkServerId(serverId: number): void {
  // tgcalls keeps the server id in a uint8_t and refuses 0 (R§1, R§2).
  if (!Number.isInteger(serverId) || serverId < 1 || serverId > 255) throw new RangeError(`serverId must be 1..255, got ${serverId}`);
}

export interface ReflectorCandidateOptions {
  serverId: number;
  /** Our port id on that reflector (the `myId` of our HELLOs). */
  id: number;
  /** The reflector's port: the peer's ReflectorPort pairs only with its own server port (R§5.2). */
  port: number;
  /** Our ICE ufrag (`a=ice-ufrag` of the local description). */
  ufrag: string;
  /** A TCP reflector: TCP relay type preference, still protocol `udp` (R§4). */
  tcp?: boolean;
  /** Any ICE foundation; default derived from the server id and transport. */
  foundation?: string;
}

/**
 * Our relay candidate as the peer expects it (S§4):
 * `candidate:<fnd> 1 udp 58655488 reflector-<sid>-<myId>.reflector <port> typ relay generation 0
 * ufrag <ufrag> network-id 1 network-cost 50` — no `a=` prefix, no raddr/rport (R§5.1).
 */
export function reflectorCandidateLine(options: ReflectorCandidateOptions): string {
  const { serverId, id, port, ufrag } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1..65535, got ${port}`);
  // RFC 8445 ice-char: ALPHA / DIGIT / "+" / "/"; anything else would break the SDP line.
  if (!/^[A-Za-z0-9+/]{4,256}$/.test(ufrag)) throw new RangeError('ufrag must be 4..256 ice-chars');
  const foundation = options.foundation ?? String((options.tcp ? 0x7266_7400 : 0x7266_7500) + serverId);
  if (!/^[A-Za-z0-9+/]{1,32}$/.test(foundation)) throw new RangeError('foundation must be 1..32 ice-chars');
  const priority = options.tcp ? REFLECTOR_TCP_CANDIDATE_PRIORITY : REFLECTOR_UDP_CANDIDATE_PRIORITY;
  return (
    `candidate:${foundation} 1 udp ${priority} ${reflectorHostname(serverId, id)} ${port} typ relay ` +
    `generation 0 ufrag ${ufrag} network-id 1 network-cost 50`
  );
}
