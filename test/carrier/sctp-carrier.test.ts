/**
 * The SCTP carrier (werift-sctp behind the carrier's reader, policy and budgets), two of them back
 * to back over an in-memory link with seeded loss, duplication, reordering and delay, on fake
 * timers: deterministic and fast, with werift's own retransmission timers doing the recovery.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseSctpPacket, SctpCarrier, type SctpCarrierOptions } from '../../src/carrier/index.js';
import { checkWeriftSctp } from '../../src/carrier/werift-sctp.js';
import { TgCallError, TransportError } from '../../src/errors.js';
import { SeededRandom } from '../../src/fake/index.js';
import { chunk, dataChunk, initChunk, restamp, sackChunk, u32 } from './sctp-builder.js';

interface LinkFaults {
  loss?: number;
  duplicate?: number;
  reorder?: number;
  maxDelayMs?: number;
}

interface Side {
  carrier: SctpCarrier;
  received: Uint8Array[];
  fatal: TgCallError[];
  /** Every blob this side sent, before the link's faults. */
  wire: Uint8Array[];
}

const sides: Side[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date'] });
});

afterEach(() => {
  for (const s of sides.splice(0)) s.carrier.close();
  vi.useRealTimers();
});

function side(role: 'client' | 'server', deliver: (blob: Uint8Array) => void, extra: Partial<SctpCarrierOptions> = {}): Side {
  const s: Side = { carrier: undefined as unknown as SctpCarrier, received: [], fatal: [], wire: [] };
  s.carrier = new SctpCarrier({
    role,
    sendData: (blob) => {
      s.wire.push(blob.slice());
      deliver(blob.slice());
    },
    onPacket: (p) => s.received.push(p.slice()),
    onFatal: (e) => s.fatal.push(e),
    ...extra,
  });
  sides.push(s);
  return s;
}

/** A client and a server joined by a link with seeded faults (each blob delivered on a timer, never reentrantly). */
function pair(seed: number, faults: LinkFaults = {}, extra: Partial<SctpCarrierOptions> = {}): { client: Side; server: Side } {
  const random = new SeededRandom(seed);
  const link = (to: () => Side) => (blob: Uint8Array) => {
    if (random.next() < (faults.loss ?? 0)) return;
    const copies = random.next() < (faults.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = 1 + random.next() * (faults.maxDelayMs ?? 5);
      if (random.next() < (faults.reorder ?? 0)) delay += 40;
      setTimeout(() => to().carrier.receive(blob), delay);
    }
  };
  const client = side('client', link(() => server), extra);
  const server: Side = side('server', link(() => client), extra);
  return { client, server };
}

function messages(random: SeededRandom, count: number, maxSize: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const size = 21 + Math.floor(random.next() * maxSize);
    const m = random.bytes(size);
    m[0] = i; // order is visible in the bytes
    return m;
  });
}

async function runUntil(condition: () => boolean, maxMs: number, stepMs = 50): Promise<number> {
  let elapsed = 0;
  while (!condition() && elapsed < maxMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
    elapsed += stepMs;
  }
  return elapsed;
}

const same = (a: Uint8Array[], b: Uint8Array[]): boolean => a.length === b.length && a.every((m, i) => Buffer.compare(m, b[i]!) === 0);

describe('SCTP carrier: delivery', () => {
  it('establishes (caller = client sends INIT) and carries messages both ways, queued ones included', async () => {
    const { client, server } = pair(1);
    client.carrier.send(new Uint8Array([1, 2, 3]));
    server.carrier.start();
    client.carrier.start();
    await runUntil(() => client.carrier.isEstablished && server.carrier.isEstablished, 1000);
    expect(client.carrier.stats.establishedMs).toBeLessThan(100);
    // The first client blob is an INIT with verification tag 0.
    const first = parseSctpPacket(client.wire[0]!);
    expect(first.ok && first.packet.chunks[0]!.type).toBe(1);
    const big = new SeededRandom(3).bytes(100 * 1024); // ~86 DATA fragments of 1200 B
    server.carrier.send(big);
    await runUntil(() => server.received.length === 1 && client.received.length === 1, 2000);
    expect(server.received).toEqual([new Uint8Array([1, 2, 3])]);
    expect(Buffer.compare(client.received[0]!, big)).toBe(0);
    expect(client.fatal).toEqual([]);
    expect(server.fatal).toEqual([]);
  });

  it('property: 20% loss, 20% duplication, 30% reordering, 30 seeds: every message exactly once, in order, both ways', async () => {
    let retransmitted = 0;
    let worstMs = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { client, server } = pair(seed, { loss: 0.2, duplicate: 0.2, reorder: 0.3, maxDelayMs: 20 });
      const random = new SeededRandom(1000 + seed);
      const fromClient = messages(random, 12, 3000);
      const fromServer = messages(random, 12, 3000);
      server.carrier.start();
      client.carrier.start();
      // Half before the association exists (queued), half spread over the first seconds.
      for (let i = 0; i < 6; i++) {
        client.carrier.send(fromClient[i]!);
        server.carrier.send(fromServer[i]!);
      }
      for (let i = 6; i < 12; i++) {
        setTimeout(() => client.carrier.send(fromClient[i]!), 100 * i);
        setTimeout(() => server.carrier.send(fromServer[i]!), 150 * i);
      }
      const ms = await runUntil(() => server.received.length >= 12 && client.received.length >= 12, 60_000, 100);
      expect(same(server.received, fromClient), `seed ${seed}: server got the client's messages once, in order`).toBe(true);
      expect(same(client.received, fromServer), `seed ${seed}: client got the server's messages once, in order`).toBe(true);
      expect([...client.fatal, ...server.fatal]).toEqual([]);
      worstMs = Math.max(worstMs, ms);
      for (const s of [client, server]) {
        const tsns = new Set<number>();
        for (const blob of s.wire) {
          const p = parseSctpPacket(blob);
          if (!p.ok) continue;
          for (const c of p.packet.chunks) if (c.type === 0) tsns.has(c.tsn) ? retransmitted++ : tsns.add(c.tsn);
        }
      }
      for (const s of sides.splice(0)) s.carrier.close();
    }
    expect(retransmitted, 'SCTP retransmitted lost DATA').toBeGreaterThan(0);
    // With a 1 s initial RTO every seed completes well inside ntgcalls' 10 s connect window.
    expect(worstMs).toBeLessThan(10_000);
  }, 60_000);
});

describe('SCTP carrier: a peer that never opens the association', () => {
  it('server (callee) hearing nothing ends with SCTP_NOT_ESTABLISHED after establishTimeoutMs', async () => {
    const server = side('server', () => {});
    server.carrier.start();
    await vi.advanceTimersByTimeAsync(11_900);
    expect(server.fatal).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.fatal).toHaveLength(1);
    expect(server.fatal[0]).toBeInstanceOf(TransportError);
    expect(server.fatal[0]!.code).toBe('SCTP_NOT_ESTABLISHED');
  });

  it('client (caller) whose INITs go unanswered: 8 retransmissions 1 s apart, then SCTP_ASSOCIATION_FAILED', async () => {
    const client = side('client', () => {});
    client.carrier.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.wire).toHaveLength(9); // INIT + 8 retransmissions (werift SCTP_MAX_INIT_RETRANS)
    expect(client.fatal.map((e) => e.code)).toEqual(['SCTP_ASSOCIATION_FAILED']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.fatal).toHaveLength(1);
  });
});

describe('SCTP carrier: bad input is a counted drop, and the association goes on', () => {
  async function established(): Promise<{ client: Side; server: Side; data: Uint8Array }> {
    const p = pair(5);
    p.server.carrier.start();
    p.client.carrier.start();
    p.client.carrier.send(new Uint8Array(40).fill(7));
    await runUntil(() => p.server.received.length === 1, 1000);
    const data = p.client.wire.find((b) => {
      const r = parseSctpPacket(b);
      return r.ok && r.packet.chunks[0]!.type === 0;
    })!;
    return { ...p, data };
  }

  /** A copy of a real DATA packet (right ports and verification tag) with its chunks replaced. */
  function forge(real: Uint8Array, chunks: number[][]): Uint8Array {
    const bytes = new Uint8Array([...real.subarray(0, 12), ...chunks.flat()]);
    return restamp(bytes);
  }

  it('drops garbage, forgeries and hostile chunks by reason; never throws; later messages still arrive', async () => {
    const { client, server, data } = await established();
    const random = new SeededRandom(9);
    // The server's initial TSN, from its INIT-ACK (common header 12 + chunk header 4 + 12): it sent no DATA yet.
    const serverTsn = Buffer.from(server.wire[0]!).readUInt32BE(28);
    const hostile: [Uint8Array, string][] = [
      [random.bytes(200), 'checksum'],
      [new Uint8Array(5), 'size'],
      [forge(data, [chunk(0, [], 0, 0)]), 'malformed'],
      [forge(data, [chunk(0x55, [1, 2, 3, 4])]), 'unknown-chunk'],
      [restamp(new Uint8Array([...data.subarray(0, 4), 0, 0, 0, 0, 0, 0, 0, 0, ...initChunk()])), 'unexpected-chunk'],
      [forge(data, [dataChunk(123_456, [1, 2, 3], { stream: 4 })]), 'stream'],
      [forge(data, [chunk(192, u32(99))]), 'unexpected-chunk'],
      [forge(data, [sackChunk((serverTsn + 1000) >>> 0)]), 'sack-range'],
      [forge(data, [sackChunk((serverTsn - 1) >>> 0, Array.from({ length: 64 }, () => [1, 65535] as [number, number]))]), 'sack-range'],
    ];
    for (const [bytes, reason] of hostile) {
      const before = server.carrier.stats.dropped[reason as keyof typeof server.carrier.stats.dropped];
      server.carrier.receive(bytes);
      await vi.advanceTimersByTimeAsync(5);
      expect(server.carrier.stats.dropped[reason as keyof typeof server.carrier.stats.dropped], reason).toBe(before + 1);
    }
    // A DATA chunk far beyond the cumulative TSN is dropped (the peer would resend it), not buffered.
    const tsn = Buffer.from(data).readUInt32BE(16);
    server.carrier.receive(forge(data, [dataChunk((tsn + 1000) >>> 0, [1, 2, 3])]));
    await vi.advanceTimersByTimeAsync(5);
    expect(server.carrier.stats.dropped['tsn-window']).toBe(1);
    expect(server.carrier.stats.dropped['stack-error']).toBe(0);
    client.carrier.send(new Uint8Array(30).fill(8));
    server.carrier.send(new Uint8Array(30).fill(9));
    await runUntil(() => server.received.length === 2 && client.received.length === 1, 2000);
    expect(server.received[1]).toEqual(new Uint8Array(30).fill(8));
    expect(client.received[0]).toEqual(new Uint8Array(30).fill(9));
  });

  it('a flood is cut by the inbound and outbound budgets (a few hundred blobs, not thousands)', async () => {
    const { server, data } = await established();
    const sentBefore = server.wire.length;
    for (let i = 0; i < 5000; i++) server.carrier.receive(data); // each one a duplicate DATA: werift would SACK each
    await vi.advanceTimersByTimeAsync(1000);
    const stats = server.carrier.stats;
    expect(stats.dropped['inbound-budget']).toBeGreaterThan(4000);
    expect(server.wire.length - sentBefore).toBeLessThanOrEqual(64 + 32 + 1);
    expect(stats.duplicateData).toBeGreaterThan(0);
  });

  it('a peer ABORT after setup is recorded, not fatal (its discard ends the call with its reason)', async () => {
    const { server, data } = await established();
    server.carrier.receive(forge(data, [chunk(6, [])]));
    await vi.advanceTimersByTimeAsync(5);
    expect(server.carrier.stats.closedByPeer).toBe(true);
    expect(server.fatal).toEqual([]);
  });

  it('bounds what waits for the association and what a message may weigh', async () => {
    const client = side('client', () => {});
    for (let i = 0; i < 70; i++) client.carrier.send(new Uint8Array(100));
    expect(client.carrier.stats.dropped['queue-full']).toBe(6);
    client.carrier.send(new Uint8Array(128 * 1024 + 1));
    expect(client.carrier.stats.dropped['too-large']).toBe(1);
  });
});

describe('SCTP carrier: close', () => {
  it('releases every timer (werift T1/T3/SACK/heartbeat and the deadline) and sends nothing more', async () => {
    const { client, server } = pair(2);
    server.carrier.start();
    client.carrier.start();
    client.carrier.send(new Uint8Array(50));
    await runUntil(() => server.received.length === 1, 1000);
    await vi.advanceTimersByTimeAsync(100);
    const sent = client.wire.length + server.wire.length;
    client.carrier.close();
    server.carrier.close();
    client.carrier.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    client.carrier.send(new Uint8Array(50));
    server.carrier.receive(client.wire[0]!);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.wire.length + server.wire.length).toBe(sent);
    expect(client.carrier.stats.dropped.closed + server.carrier.stats.dropped.closed).toBe(2);
  });

  it('closing a client still retrying its INIT cancels the retries', async () => {
    const client = side('client', () => {});
    client.carrier.start();
    await vi.advanceTimersByTimeAsync(1500);
    client.carrier.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('werift-sctp internals the carrier relies on', () => {
  it('are present on 0.0.11; a missing one is a typed error, not a silently lost bound', () => {
    expect(() => checkWeriftSctp({})).toThrow(expect.objectContaining({ code: 'SCTP_UNAVAILABLE' }));
    const client = side('client', () => {});
    expect(client.carrier.stats.dropped.closed).toBe(0);
  });
});

