/**
 * The routing core of the fake Telegram reflector (no sockets): what a reflector must do for
 * tgcalls' ReflectorPort to work, as inferred in reflector.md §3.5 and verified against ntgcalls
 * 3.0.5 with the Python fake of ../shared/protocol/reflector/:
 * - learn `(tag, id) → client address` from HELLOs (`tag16` = tag12 + the sender's id) and from
 *   DATA (tag12 + the sender id at bytes 16..19);
 * - forward DATA to the client registered for (the sender's tag group, dstId at bytes 12..15),
 *   with bytes 0..11 rewritten to the receiver's own tag12 (clients check them, §3.4);
 * - answer a UDP HELLO with libtgvoip's SELF_INFO (64 B, §3.2); register a TCP hello silently;
 * - ignore plain STUN, special and short packets (counted).
 * Grouping: by bytes 1..11 by default — caller and callee tags may differ in byte 0, as the official
 * CLI's reflector mode makes them (§3.5) — or `exact` (all 12 bytes).
 * Real Telegram reflectors are closed source: the pairing rule and the hello reply are assumptions.
 */
import { formatEndpoint, type Endpoint } from '../network/endpoint.js';
import { encodeData, encodeSelfInfo, parseClientPacket } from '../network/reflector-codec.js';
import type { SeededRandom } from './seeded-random.js';

/** Where a client is reached: a UDP address, or one accepted TCP connection (`key` identifies it). */
export interface ReflectorSink {
  readonly transport: 'udp' | 'tcp';
  readonly key: string;
  readonly endpoint: Endpoint;
}

export interface RouterSend {
  readonly sink: ReflectorSink;
  /** A datagram, or (TCP) one packet the adapter frames. */
  readonly data: Uint8Array;
}

export type ReflectorGrouping = 'ignore-byte0' | 'exact';
export type ReflectorInjection = 'garbage' | 'wrong-tag' | 'bad-length' | 'short';

export interface ReflectorRouterOptions {
  group?: ReflectorGrouping;
  /** Probability a forwarded DATA packet is lost (0..1). */
  loss?: number;
  /** Probability a forwarded DATA packet is delivered twice (0..1). */
  duplicate?: number;
  /** Forward DATA unchanged (negative control: receivers must reject it when tags differ). */
  noRewrite?: boolean;
  /** Seconds since the epoch for SELF_INFO. Default: the wall clock. */
  unixTime?: () => number;
  /** Bound on learned clients and on flow counters. Default 1024. */
  maxClients?: number;
}

export interface ReflectorCounters {
  received: number;
  hellos: number;
  tcpHellos: number;
  data: number;
  forwarded: number;
  lost: number;
  duplicated: number;
  noTarget: number;
  badLength: number;
  stun: number;
  special: number;
  short: number;
  unknown: number;
  /** Packets that arrived while paused (nothing answered or forwarded). */
  whilePaused: number;
  /** Registrations refused because the client table was full. */
  tableFull: number;
  injected: number;
}

export interface ReflectorClientInfo {
  readonly id: number;
  readonly tag: string;
  readonly transport: 'udp' | 'tcp';
  readonly address: string;
  hellos: number;
  dataIn: number;
  dataOut: number;
}

export interface ReflectorFlow {
  packets: number;
  payloadBytes: number;
}

interface Client {
  tag: Uint8Array;
  readonly id: number;
  sink: ReflectorSink;
  info: ReflectorClientInfo;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function probability(value: number | undefined, name: string): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be within 0..1`);
  return p;
}

export class ReflectorRouter {
  readonly counters: ReflectorCounters = {
    received: 0, hellos: 0, tcpHellos: 0, data: 0, forwarded: 0, lost: 0, duplicated: 0, noTarget: 0,
    badLength: 0, stun: 0, special: 0, short: 0, unknown: 0, whilePaused: 0, tableFull: 0, injected: 0,
  };
  /** `"<srcId>-><dstId>"` → forwarded packets (after loss, duplicates counted once). */
  readonly flows = new Map<string, ReflectorFlow>();
  paused = false;
  private readonly clients = new Map<string, Client>();
  private readonly group: ReflectorGrouping;
  private readonly loss: number;
  private readonly duplicate: number;
  private readonly noRewrite: boolean;
  private readonly unixTime: () => number;
  private readonly maxClients: number;

  constructor(
    options: ReflectorRouterOptions,
    private readonly random: SeededRandom,
  ) {
    this.group = options.group ?? 'ignore-byte0';
    this.loss = probability(options.loss, 'loss');
    this.duplicate = probability(options.duplicate, 'duplicate');
    this.noRewrite = options.noRewrite ?? false;
    this.unixTime = options.unixTime ?? (() => Math.floor(Date.now() / 1000));
    this.maxClients = options.maxClients ?? 1024;
  }

  /** Learned clients, in registration order. */
  clientList(): ReflectorClientInfo[] {
    return [...this.clients.values()].map((c) => ({ ...c.info }));
  }

  /** One packet from `sink`: what to send in reply or onwards. Never throws on any bytes. */
  handle(packet: Uint8Array, sink: ReflectorSink): RouterSend[] {
    const c = this.counters;
    c.received++;
    if (this.paused) {
      c.whilePaused++;
      return [];
    }
    const parsed = parseClientPacket(packet, sink.transport);
    switch (parsed.kind) {
      case 'stun':
        c.stun++;
        return [];
      case 'special':
        c.special++;
        return [];
      case 'drop':
        if (parsed.reason === 'short') c.short++;
        else if (parsed.reason === 'bad-length') c.badLength++;
        else c.unknown++;
        return [];
      case 'tcp-hello': {
        c.tcpHellos++;
        const client = this.register(parsed.tag, parsed.id, sink);
        if (client) client.info.hellos++;
        return [];
      }
      case 'hello': {
        c.hellos++;
        const client = this.register(parsed.tag, parsed.id, sink);
        if (client) client.info.hellos++;
        const reply = encodeSelfInfo(packet.subarray(0, 16), parsed.query, sink.endpoint, this.unixTime());
        return [{ sink, data: reply }];
      }
      case 'data':
        return this.forward(packet, parsed.tag, parsed.srcId, parsed.dstId, parsed.payloadLength, sink);
    }
  }

  /**
   * A hostile packet towards the client registered with port id `clientId` (any group), sent from
   * the reflector's own address so only the packet itself can give it away. Empty if unknown.
   */
  inject(clientId: number, kind: ReflectorInjection): RouterSend[] {
    const client = [...this.clients.values()].find((c) => c.id === clientId);
    if (!client) return [];
    let data: Uint8Array;
    const payload = this.random.bytes(20);
    switch (kind) {
      case 'garbage':
        data = this.random.bytes(25 + (this.random.nextUint32() % 100));
        break;
      case 'short':
        data = client.tag.slice(0, 8);
        break;
      case 'wrong-tag': {
        const tag = client.tag.slice();
        tag[5] = tag[5]! ^ 0x5a;
        data = encodeData(tag, client.id, 0x0bad7a90, payload);
        break;
      }
      case 'bad-length': {
        data = encodeData(client.tag, client.id, 0x0bad1e90, payload);
        data[20] = 0x7f; // declares ~2 GB
        break;
      }
    }
    this.counters.injected++;
    return [{ sink: client.sink, data }];
  }

  private groupKey(tag: Uint8Array, id: number): string {
    return `${hex(this.group === 'exact' ? tag : tag.subarray(1, 12))}|${id}`;
  }

  private register(tag: Uint8Array, id: number, sink: ReflectorSink): Client | undefined {
    const key = this.groupKey(tag, id);
    let client = this.clients.get(key);
    if (!client) {
      if (this.clients.size >= this.maxClients) {
        this.counters.tableFull++;
        return undefined;
      }
      const info: ReflectorClientInfo = {
        id, tag: hex(tag), transport: sink.transport, address: formatEndpoint(sink.endpoint), hellos: 0, dataIn: 0, dataOut: 0,
      };
      client = { tag: tag.slice(), id, sink, info };
      this.clients.set(key, client);
      return client;
    }
    if (client.sink.key !== sink.key || hex(client.tag) !== hex(tag)) {
      // A client that moved (new port, reconnect) or whose tag differs in the ignored byte.
      client.sink = sink;
      client.tag = tag.slice();
      client.info = { ...client.info, tag: hex(tag), transport: sink.transport, address: formatEndpoint(sink.endpoint) };
    }
    return client;
  }

  private forward(packet: Uint8Array, tag: Uint8Array, srcId: number, dstId: number, payloadLength: number, sink: ReflectorSink): RouterSend[] {
    const c = this.counters;
    c.data++;
    const source = this.register(tag, srcId, sink);
    if (source) source.info.dataIn++;
    const target = this.clients.get(this.groupKey(tag, dstId));
    if (!target) {
      c.noTarget++;
      return [];
    }
    if (this.random.next() < this.loss) {
      c.lost++;
      return [];
    }
    // A copy: the socket layer may reuse the buffer it handed us.
    const out = packet.slice();
    if (!this.noRewrite) out.set(target.tag, 0);
    const copies = this.random.next() < this.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    c.forwarded++;
    target.info.dataOut += copies;
    this.countFlow(srcId, dstId, payloadLength);
    return copies === 2 ? [{ sink: target.sink, data: out }, { sink: target.sink, data: out }] : [{ sink: target.sink, data: out }];
  }

  private countFlow(srcId: number, dstId: number, payloadLength: number): void {
    const key = `${srcId}->${dstId}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.flows.size >= this.maxClients) return;
      flow = { packets: 0, payloadBytes: 0 };
      this.flows.set(key, flow);
    }
    flow.packets++;
    flow.payloadBytes += payloadLength;
  }
}

