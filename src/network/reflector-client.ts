/**
 * Sans-I/O client for one socket to one Telegram reflector server (UDP, or a TCP stream), the
 * tgcall side of tgcalls' `ReflectorPort`. It follows the path-core contract of the network edge
 * (EDGE.md): no sockets, no timers, every method takes `now` (monotonic ms) and returns what to
 * put on the wire plus events; bad input is a counted drop, never a throw.
 *
 * Wire rules (reflector.md §3/§4, reflector-shim.md §4):
 * - myId: a random non-zero uint32 per client (tgcalls: one per ReflectorPort); in standalone
 *   mode 1 for the caller and 2 for the callee (reflector.md §7).
 * - UDP: HELLO at start, every 500 ms until the first valid datagram (READY), then every 10 s
 *   after the last one. (tgcalls' delayed task chooses the interval when it sends, so it sends
 *   one more hello 500 ms after READY; we do not — nothing depends on it.)
 * - Valid = from exactly the server's ip:port, ≥ 16 bytes, bytes 0..11 = our tag (12..15 are not
 *   checked). The first valid datagram makes us READY: our candidate may then be signalled.
 * - TCP: READY when the connection is up; then the 20-byte TCP hello, repeated every 10 s.
 *
 * Our additions, for a client that must tell a dead reflector from a quiet one:
 * - `unreachable` once a hello has gone unanswered — no valid datagram since — for
 *   `unreachableAfterMs` (default 5 s; before the first READY that is counted from the first
 *   hello). 5 s = 10 unanswered hellos at 500 ms: far past any real round trip to a reflector plus
 *   a burst of losses, and half of ntgcalls' 10 s connect window (tgcalls: 20 s) is left for the
 *   call to use another path or end with a clear reason. Hellos go on (every 500 ms while not
 *   READY); a later valid datagram makes the client ready again.
 * - After READY (UDP), once nothing valid arrived for `probeAfterSilenceMs` (default 1 s) hellos
 *   go back to every 500 ms until something does. In a call media flows at ≥ 50 packets/s, so
 *   this only fires when the reflector (or the peer) went quiet; a live reflector answers the
 *   probe within a round trip, so a quiet call is not mistaken for a dead reflector, and a dead
 *   one is declared unreachable ~6 s after its last packet. `Infinity` gives tgcalls' exact
 *   cadence (a dead reflector is then noticed only 5 s after the next 10 s hello).
 */
import { randomBytes } from 'node:crypto';
import { sameEndpoint, type Endpoint } from './endpoint.js';
import {
  encodeData,
  encodeTcpHello,
  encodeUdpHello,
  parseServerDatagram,
  reflectorCandidateLine,
  reflectorHostname,
  REFLECTOR_MAX_UDP_PAYLOAD,
  REFLECTOR_PEER_TAG_LENGTH,
  REFLECTOR_DATA_HEADER_LENGTH,
  REFLECTOR_TAG_PREFIX_LENGTH,
} from './reflector-codec.js';
import { TCP_MAX_PACKET, TcpClientFramer, TcpDeframer, type TcpFramingError } from './tcp-framing.js';

export const HELLO_INTERVAL_CONNECTING_MS = 500;
export const HELLO_INTERVAL_READY_MS = 10_000;
export const DEFAULT_UNREACHABLE_AFTER_MS = 5_000;
export const DEFAULT_PROBE_AFTER_SILENCE_MS = 1_000;

export type ReflectorTransport = 'udp' | 'tcp';
export type ReflectorClientState = 'connecting' | 'ready' | 'unreachable' | 'closed';

export interface ReflectorClientOptions {
  /** The reflector's ip:port (for TCP: where the stream is connected). */
  server: Endpoint;
  /** 1..255, from `reflectorServers` (both ends must agree, reflector.md §5.2). */
  serverId: number;
  /** The 16-byte `peer_tag`; bytes 0..11 go on the wire. */
  peerTag: Uint8Array;
  transport?: ReflectorTransport;
  /** `network_standalone_reflectors`: fixed myId 1 (caller) or 2 (callee) instead of a random one. */
  standaloneRole?: 'caller' | 'callee';
  /** A uniform uint32 source for myId (tests inject a seeded one). Default: crypto random. */
  random?: () => number;
  unreachableAfterMs?: number;
  probeAfterSilenceMs?: number;
}

export interface ReflectorSend {
  readonly to: Endpoint;
  /** UDP: one datagram; TCP: bytes for the stream (framed, prologue included once). */
  readonly data: Uint8Array;
}

export type ReflectorClientEvent =
  /** First READY: signal our candidate `hostname`:`port` (once per client, as tgcalls does). */
  | { readonly type: 'ready'; readonly hostname: string; readonly port: number }
  | { readonly type: 'state'; readonly state: ReflectorClientState }
  /** A payload the peer with port id `senderId` sent us; it aliases the bytes given to `receive`. */
  | { readonly type: 'data'; readonly senderId: number; readonly payload: Uint8Array }
  /** TCP only: the stream cannot be read any further; close it and call `disconnected`. */
  | { readonly type: 'stream-error'; readonly error: TcpFramingError };

export interface ReflectorClientOutput {
  readonly send: ReflectorSend[];
  readonly events: ReflectorClientEvent[];
}

export interface ReflectorClientStats {
  /** Datagrams (UDP) or frames (TCP) received, valid or not, and their bytes. */
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  hellosSent: number;
  /** Special packets (hello replies) and bare ready signals. */
  repliesIn: number;
  dataIn: number;
  payloadBytesIn: number;
  dataOut: number;
  payloadBytesOut: number;
  dropped: {
    wrongSource: number;
    short: number;
    wrongTag: number;
    badLength: number;
    /** TCP stream bytes that broke the framing (oversize length). */
    framing: number;
    /** Input after `close`. */
    closed: number;
    /** sendTo on a TCP client with no connection. */
    notConnected: number;
    /** sendTo with a payload that cannot fit one datagram/frame. */
    tooLarge: number;
    /** sendTo to 0 or a non-uint32 id. */
    badPeerId: number;
  };
}

function defaultRandom(): number {
  return randomBytes(4).readUInt32LE(0);
}

function chooseId(options: ReflectorClientOptions): number {
  if (options.standaloneRole) return options.standaloneRole === 'caller' ? 1 : 2;
  const random = options.random ?? defaultRandom;
  // tgcalls draws until non-zero; 64 zeros in a row means a broken source, not bad luck.
  for (let i = 0; i < 64; i++) {
    const id = random() >>> 0;
    if (id !== 0) return id;
  }
  throw new RangeError('the random source returned 0 64 times: cannot choose a reflector port id');
}

function emptyOutput(): ReflectorClientOutput {
  return { send: [], events: [] };
}

export class ReflectorClient {
  readonly myId: number;
  readonly serverId: number;
  readonly server: Endpoint;
  readonly transport: ReflectorTransport;
  readonly stats: ReflectorClientStats = {
    ...{ packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, hellosSent: 0, repliesIn: 0 },
    ...{ dataIn: 0, payloadBytesIn: 0, dataOut: 0, payloadBytesOut: 0 },
    dropped: { wrongSource: 0, short: 0, wrongTag: 0, badLength: 0, framing: 0, closed: 0, notConnected: 0, tooLarge: 0, badPeerId: 0 },
  };
  private readonly tag: Uint8Array;
  private readonly unreachableAfterMs: number;
  private readonly probeAfterSilenceMs: number;
  private stateValue: ReflectorClientState = 'connecting';
  private started = false;
  private announced = false;
  /** TCP: a connection is up. UDP: always true once started. */
  private linkUp = false;
  private startedAt = 0;
  private lastValidAt: number | undefined;
  private lastHelloAt = -Infinity;
  /** The first hello sent since the last valid datagram (UDP). */
  private unansweredSince: number | undefined;
  private readonly framer = new TcpClientFramer();
  private deframer = new TcpDeframer();

  constructor(options: ReflectorClientOptions) {
    if (options.peerTag.length !== REFLECTOR_PEER_TAG_LENGTH) {
      throw new RangeError(`peer tag must be ${REFLECTOR_PEER_TAG_LENGTH} bytes, got ${options.peerTag.length}`);
    }
    if (!Number.isInteger(options.serverId) || options.serverId < 1 || options.serverId > 255) {
      throw new RangeError(`serverId must be 1..255, got ${options.serverId}`);
    }
    this.server = options.server;
    this.serverId = options.serverId;
    this.transport = options.transport ?? 'udp';
    this.tag = options.peerTag.slice(0, REFLECTOR_TAG_PREFIX_LENGTH);
    this.myId = chooseId(options);
    this.unreachableAfterMs = options.unreachableAfterMs ?? DEFAULT_UNREACHABLE_AFTER_MS;
    this.probeAfterSilenceMs = options.probeAfterSilenceMs ?? DEFAULT_PROBE_AFTER_SILENCE_MS;
  }

  get state(): ReflectorClientState {
    return this.stateValue;
  }

  /** Our candidate's address once READY has been reached: `reflector-<sid>-<myId>.reflector`:port. */
  get localCandidate(): { hostname: string; port: number } | undefined {
    return this.announced ? { hostname: reflectorHostname(this.serverId, this.myId), port: this.server.port } : undefined;
  }

  /** The SDP candidate line to signal once READY (reflector-shim.md §4), undefined before. */
  candidateLine(ufrag: string, foundation?: string): string | undefined {
    if (!this.announced) return undefined;
    return reflectorCandidateLine({
      serverId: this.serverId,
      id: this.myId,
      port: this.server.port,
      ufrag,
      tcp: this.transport === 'tcp',
      ...(foundation !== undefined ? { foundation } : {}),
    });
  }

  /** UDP: the first HELLO. TCP: nothing yet — call `connected` when the stream is up. */
  start(now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.started || this.stateValue === 'closed') return out;
    this.started = true;
    this.startedAt = now;
    if (this.transport === 'udp') {
      this.linkUp = true;
      this.sendHello(now, out);
    }
    return out;
  }

  /** TCP: the connection is established — READY at once (reflector.md §4), then the TCP hello. */
  connected(now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.transport !== 'tcp' || this.stateValue === 'closed' || this.linkUp) return out;
    if (!this.started) this.start(now);
    this.linkUp = true;
    this.framer.reset();
    this.deframer = new TcpDeframer();
    this.lastValidAt = now;
    this.markReady(out);
    this.sendHello(now, out);
    return out;
  }

  /** TCP: the connection closed or was closed after a `stream-error`. Hellos stop until `connected`. */
  disconnected(now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.transport !== 'tcp' || !this.linkUp || this.stateValue === 'closed') return out;
    this.linkUp = false;
    this.startedAt = now; // a reconnect gets the full connect window again
    this.setState('unreachable', out);
    return out;
  }

  /** A UDP datagram, or a chunk of the TCP stream, that arrived from `from`. */
  receive(bytes: Uint8Array, from: Endpoint, now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.stateValue === 'closed') {
      this.stats.dropped.closed++;
      return out;
    }
    if (this.transport === 'udp') {
      this.stats.packetsIn++;
      this.stats.bytesIn += bytes.length;
      if (!sameEndpoint(from, this.server)) {
        this.stats.dropped.wrongSource++;
        return out;
      }
      this.handlePacket(bytes, now, out);
      return out;
    }
    this.stats.bytesIn += bytes.length;
    // Stream bytes with no stream (a late chunk after `disconnected`) count as a wrong source.
    if (!this.linkUp || !sameEndpoint(from, this.server)) {
      this.stats.dropped.wrongSource++;
      return out;
    }
    const wasBroken = this.deframer.broken;
    for (const packet of this.deframer.push(bytes)) {
      this.stats.packetsIn++;
      this.handlePacket(packet, now, out);
    }
    const broken = this.deframer.broken;
    if (broken && !wasBroken) {
      this.stats.dropped.framing++;
      out.events.push({ type: 'stream-error', error: broken });
    }
    return out;
  }

  /** DATA to the peer's port `peerId` through this reflector. Counted drop when it cannot go. */
  sendTo(peerId: number, payload: Uint8Array, _now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.stateValue === 'closed') {
      this.stats.dropped.closed++;
      return out;
    }
    if (!Number.isInteger(peerId) || peerId < 1 || peerId > 0xffffffff) {
      this.stats.dropped.badPeerId++;
      return out;
    }
    // The padded packet must fit one frame (TCP) or one datagram (UDP).
    const limit = this.transport === 'tcp' ? TCP_MAX_PACKET - REFLECTOR_DATA_HEADER_LENGTH : REFLECTOR_MAX_UDP_PAYLOAD;
    if (payload.length > limit) {
      this.stats.dropped.tooLarge++;
      return out;
    }
    // tgcalls sends DATA whatever the port's state (`SendTo`); only a missing stream stops us.
    if (!this.linkUp) {
      this.stats.dropped.notConnected++;
      return out;
    }
    this.stats.dataOut++;
    this.stats.payloadBytesOut += payload.length;
    this.emit(encodeData(this.tag, peerId, this.myId, payload), out);
    return out;
  }

  /** Runs due timers: hellos, probes, the unreachable deadline. */
  tick(now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (!this.started || this.stateValue === 'closed') return out;
    const unreachableAt = this.unreachableAt();
    if (unreachableAt !== undefined && now >= unreachableAt && this.stateValue !== 'unreachable') {
      this.setState('unreachable', out);
    }
    const helloAt = this.helloDueAt();
    if (helloAt !== undefined && now >= helloAt) this.sendHello(now, out);
    return out;
  }

  nextDeadline(): number | undefined {
    if (!this.started || this.stateValue === 'closed') return undefined;
    const hello = this.helloDueAt();
    const unreachable = this.stateValue === 'unreachable' ? undefined : this.unreachableAt();
    if (hello === undefined) return unreachable;
    return unreachable === undefined ? hello : Math.min(hello, unreachable);
  }

  /** No goodbye exists in the protocol (tgcalls `Release` only flips local state, reflector.md §3.1). */
  close(_now: number): ReflectorClientOutput {
    const out = emptyOutput();
    if (this.stateValue === 'closed') return out;
    this.linkUp = false;
    this.setState('closed', out);
    return out;
  }

  // ---------------------------------------------------------------- internals

  private handlePacket(packet: Uint8Array, now: number, out: ReflectorClientOutput): void {
    const parsed = parseServerDatagram(packet, this.tag);
    if (parsed.kind === 'drop') {
      if (parsed.reason === 'short') {
        this.stats.dropped.short++;
        return;
      }
      if (parsed.reason === 'wrong-tag') {
        this.stats.dropped.wrongTag++;
        return;
      }
      // bad-length: our tag from the server's address — tgcalls is READY by then (§3.4).
      this.stats.dropped.badLength++;
    }
    this.lastValidAt = now;
    this.unansweredSince = undefined;
    this.markReady(out);
    if (parsed.kind === 'data') {
      this.stats.dataIn++;
      this.stats.payloadBytesIn += parsed.payload.length;
      out.events.push({ type: 'data', senderId: parsed.senderId, payload: parsed.payload });
    } else if (parsed.kind !== 'drop') {
      this.stats.repliesIn++;
    }
  }

  private markReady(out: ReflectorClientOutput): void {
    if (!this.announced) {
      this.announced = true;
      out.events.push({ type: 'ready', hostname: reflectorHostname(this.serverId, this.myId), port: this.server.port });
    }
    this.setState('ready', out);
  }

  private setState(state: ReflectorClientState, out: ReflectorClientOutput): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    out.events.push({ type: 'state', state });
  }

  /**
   * When the next hello is due, from the last one: 500 ms while not READY, 10 s once READY, and
   * (UDP) 500 ms probes once silent for `probeAfterSilenceMs`.
   */
  private helloDueAt(): number | undefined {
    if (!this.linkUp) return undefined;
    if (this.transport === 'tcp') return this.lastHelloAt + HELLO_INTERVAL_READY_MS;
    if (this.stateValue !== 'ready') return this.lastHelloAt + HELLO_INTERVAL_CONNECTING_MS;
    const regular = this.lastHelloAt + HELLO_INTERVAL_READY_MS;
    if (this.lastValidAt === undefined || !Number.isFinite(this.probeAfterSilenceMs)) return regular;
    return Math.min(regular, Math.max(this.lastValidAt + this.probeAfterSilenceMs, this.lastHelloAt + HELLO_INTERVAL_CONNECTING_MS));
  }

  private unreachableAt(): number | undefined {
    if (this.transport === 'tcp') {
      // A TCP client is unreachable when its stream is missing (disconnected) or slow to connect.
      return this.linkUp ? undefined : this.startedAt + this.unreachableAfterMs;
    }
    return this.unansweredSince === undefined ? undefined : this.unansweredSince + this.unreachableAfterMs;
  }

  private sendHello(now: number, out: ReflectorClientOutput): void {
    if (!this.linkUp) return;
    const hello = this.transport === 'udp' ? encodeUdpHello(this.tag, this.myId) : encodeTcpHello(this.tag, this.myId);
    this.stats.hellosSent++;
    this.lastHelloAt = now;
    this.unansweredSince ??= now;
    this.emit(hello, out);
  }

  private emit(packet: Uint8Array, out: ReflectorClientOutput): void {
    const data = this.transport === 'tcp' ? this.framer.frame(packet) : packet;
    this.stats.packetsOut++;
    this.stats.bytesOut += data.length;
    out.send.push({ to: this.server, data });
  }
}
