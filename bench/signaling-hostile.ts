/**
 * Hostile-peer benchmark of the acked signaling channel (`npx tsx bench/signaling-hostile.ts`),
 * the figures of issue 15 defects 3 and 4. The peer holds the call key, so it can encrypt any body
 * (test/helpers/hostile-signaling.ts). Prints figures; asserts nothing (test/crypto/
 * signaling-hostile.test.ts asserts the bounds). CPU figures are medians of a few runs.
 *
 * 1. One 128 KiB packet of empty ack-requiring messages: CPU of `receive` alone and with each
 *    delivered payload decoded as CallTransport does (JSON → typed message or ProtocolError).
 * 2. Pending acks after 17 such packets, a service tick between packets.
 * 3. Ten 128 KiB packets of deflate/gzip bombs (each message inflates to just under 2 MiB).
 * 4. Resend amplification: the peer sends 2 000 small offers (one packet each, 5 ms apart) and
 *    never acks; we answer each with a 600-byte message. Packets and bytes we hand to
 *    phone.sendSignalingData, against the bytes that came in; then 60 s of quiet.
 * 5. A peer that never acks, one offer per second: when the call ends, what it cost.
 * 6. For scale, an honest setup: 30 messages each way within a second (one of 2 000 bytes, the rest
 *    300), 150 ms one-way: how many packets and bytes, and whether any budget is touched.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { AckedSignalingChannel, type SignalingChannel } from '../src/crypto/index.js';
import { decodeSignalingMessage } from '../src/transport/messages.js';
import { bomb, HostilePeer } from '../test/helpers/hostile-signaling.js';

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Median CPU ms of `runs` runs of `prepare` → `run` (only `run` is timed), plus the last result. */
function measure<S, R>(runs: number, prepare: () => S, run: (state: S) => R): { ms: string; last: R } {
  const samples: number[] = [];
  let last: R | undefined;
  for (let i = 0; i < runs + 1; i++) {
    const state = prepare();
    const ms = cpuMs(() => (last = run(state)));
    if (i > 0) samples.push(ms); // the first run warms the JIT
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!.toFixed(1), last: last! };
}

function pendingAcks(channel: SignalingChannel): number {
  const c = channel as unknown as { pendingAckCount?: number; pendingAcks?: { length?: number; size?: number } };
  return c.pendingAckCount ?? c.pendingAcks?.length ?? c.pendingAcks?.size ?? NaN;
}

function budgetDrops(channel: SignalingChannel): number | string {
  return (channel.getStats().dropped as { budget?: number }).budget ?? '-';
}

/** Drives `channel` like the peer-never-acks attacks: returns what it sent. */
function amplification(key: Uint8Array, offers: number, spacingMs: number, quietMs: number) {
  const channel = new AckedSignalingChannel({ key, isOutgoing: true });
  const peer = new HostilePeer(key, false);
  const offer = new TextEncoder().encode(JSON.stringify({ '@type': 'NegotiateChannels', exchangeId: '1', contents: [], pad: 'x'.repeat(120) }));
  const answer = new Uint8Array(600).fill(0x20);
  const r = { inBytes: 0, outPackets: 0, outBytes: 0, endedAt: undefined as number | undefined, channel };
  const emit = (packets: Uint8Array[]) => {
    for (const p of packets) (r.outPackets++, (r.outBytes += p.length));
  };
  let now = 0;
  const step = (t: number) => {
    emit(channel.tick(t));
    if (channel.fatalError && r.endedAt === undefined) r.endedAt = t;
  };
  for (let i = 0; i < offers && !channel.fatalError; i++, now += spacingMs) {
    const packet = peer.single(offer);
    r.inBytes += packet.length;
    const out = channel.receive(packet, now);
    emit(out.packets);
    for (let m = 0; m < out.messages.length; m++) {
      try {
        emit(channel.send(answer, now));
      } catch {
        // before the fix: TOO_MANY_UNACKED, which CallConnection logs and drops
      }
    }
    // the timers, as the runner would fire them between two offers
    for (let t = now; t < now + spacingMs; t += Math.min(spacingMs, 100)) step(t);
  }
  for (const end = now + quietMs; now < end && !channel.fatalError; now += 100) step(now);
  return r;
}

export default async function benchSignalingHostile(): Promise<void> {
  const key = new Uint8Array(randomBytes(256));
  const rows: Record<string, string | number>[] = [];
  const none = new Uint8Array(0);
  const fresh = () => new AckedSignalingChannel({ key, isOutgoing: true });
  const flood = () => new HostilePeer(key, false).serviceWith(() => none);

  // 1. one packet of empty ack-requiring messages
  {
    const count = flood().count;
    const alone = measure(5, () => ({ channel: fresh(), packet: flood().packet }), ({ channel, packet }) => (channel.receive(packet, 0), channel));
    const decoded = measure(
      5,
      () => ({ channel: fresh(), packet: flood().packet }),
      ({ channel, packet }) => {
        for (const m of channel.receive(packet, 0).messages) decodeSignalingMessage(m);
        return channel;
      },
    );
    rows.push({
      case: `1 packet of ${count} empty ack-requiring messages`,
      cpuMs: alone.ms,
      delivered: alone.last.getStats().messagesDelivered,
      pendingAcks: pendingAcks(alone.last),
      budgetDrops: budgetDrops(alone.last),
    });
    rows.push({ case: '  same, each delivered payload decoded as CallTransport does', cpuMs: decoded.ms });
  }

  // 2. pending acks after 17 packets, a service tick between packets
  {
    const r = measure(
      3,
      () => {
        const peer = new HostilePeer(key, false);
        return { channel: fresh(), packets: Array.from({ length: 17 }, () => peer.serviceWith(() => none).packet) };
      },
      ({ channel, packets }) => {
        let out = 0;
        packets.forEach((packet, i) => {
          if (i > 0) out += channel.tick(i).length;
          channel.receive(packet, i);
        });
        return { channel, out };
      },
    );
    rows.push({ case: '17 such packets, a tick between', cpuMs: r.ms, pendingAcks: pendingAcks(r.last.channel), packetsOut: r.last.out, budgetDrops: budgetDrops(r.last.channel) });
  }

  // 3. ten packets of bombs
  for (const kind of ['zlib', 'gzip'] as const) {
    const payload = bomb(kind);
    const r = measure(
      3,
      () => {
        const peer = new HostilePeer(key, false);
        return { channel: fresh(), packets: Array.from({ length: 10 }, () => peer.serviceWith(() => payload).packet) };
      },
      ({ channel, packets }) => {
        let inflated = 0;
        packets.forEach((packet, i) => {
          for (const m of channel.receive(packet, i * 10).messages) inflated += m.length;
        });
        return { channel, inflated };
      },
    );
    rows.push({
      case: `10 packets of ${kind} bombs (${new HostilePeer(key, false).serviceWith(() => payload).count} a packet), 10 ms apart`,
      cpuMs: r.ms,
      delivered: r.last.channel.getStats().messagesDelivered,
      inflatedMiB: (r.last.inflated / 2 ** 20).toFixed(0),
      budgetDrops: budgetDrops(r.last.channel),
    });
  }

  // 4, 5. resend amplification, never-acking peer
  for (const [name, offers, spacing, quiet] of [
    ['2 000 offers 5 ms apart, never acked; 60 s quiet', 2000, 5, 60_000],
    ['1 offer a second, never acked (up to 10 min)', 600, 1000, 0],
  ] as const) {
    let r: ReturnType<typeof amplification> | undefined;
    const ms = cpuMs(() => (r = amplification(key, offers, spacing, quiet)));
    rows.push({
      case: name,
      cpuMs: ms.toFixed(1),
      packetsOut: r!.outPackets,
      kbOut: (r!.outBytes / 1024).toFixed(0),
      kbIn: (r!.inBytes / 1024).toFixed(0),
      outPerIn: (r!.outBytes / r!.inBytes).toFixed(2),
      ended: r!.channel.fatalError ? `${r!.channel.fatalError.code} at ${(r!.endedAt! / 1000).toFixed(1)} s` : 'no',
    });
  }

  // 6. honest setup for scale
  {
    const a = new AckedSignalingChannel({ key, isOutgoing: true });
    const b = new AckedSignalingChannel({ key, isOutgoing: false });
    const inFlight: { at: number; to: SignalingChannel; packet: Uint8Array }[] = [];
    const sent = { a: [0, 0], b: [0, 0] };
    const post = (from: 'a' | 'b', packets: Uint8Array[], now: number) => {
      for (const packet of packets) {
        sent[from][0]!++;
        sent[from][1]! += packet.length;
        inFlight.push({ at: now + 150, to: from === 'a' ? b : a, packet });
      }
    };
    const message = (i: number) => new Uint8Array(i === 1 ? 2000 : 300).fill(0x20);
    let sentMessages = 0;
    for (let now = 0; now < 10_000; now += 10) {
      if (sentMessages < 30 && now >= sentMessages * 33) {
        post('a', a.send(message(sentMessages), now), now);
        post('b', b.send(message(sentMessages), now), now);
        sentMessages++;
      }
      for (let i = 0; i < inFlight.length; ) {
        const item = inFlight[i]!;
        if (item.at > now) {
          i++;
          continue;
        }
        inFlight.splice(i, 1);
        item.to.receive(item.packet, now);
      }
      post('a', a.tick(now), now);
      post('b', b.tick(now), now);
    }
    rows.push({
      case: 'honest setup: 30 messages each way in 1 s, 150 ms one-way',
      packetsOut: `${sent.a[0]} / ${sent.b[0]}`,
      kbOut: `${(sent.a[1]! / 1024).toFixed(0)} / ${(sent.b[1]! / 1024).toFixed(0)}`,
      delivered: `${a.getStats().messagesDelivered} / ${b.getStats().messagesDelivered}`,
      budgetDrops: `${budgetDrops(a)} / ${budgetDrops(b)}`,
      deferred: `${(a.getStats() as { sendsDeferred?: number }).sendsDeferred ?? '-'} / ${(b.getStats() as { sendsDeferred?: number }).sendsDeferred ?? '-'}`,
    });
  }

  console.log('\nAcked signaling channel against a hostile peer (CPU ms of this process, median)');
  console.table(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchSignalingHostile();
