/**
 * Repairs of the DTLS handshake that only the network edge can make, because it sees every
 * datagram between libjuice and the peer. Pure: datagrams and `now` in, datagrams out.
 *
 * 1. **The lost first ClientHello.** libdatachannel (0.24.5, OpenSSL backend, `dtlstransport.cpp`)
 *    registers for packets before its DTLS transport is in the Connecting state, and drops a
 *    ClientHello that arrives in between; the peer then waits for its retransmit timer (1 s and
 *    more). That stalled most tgcall ↔ tgcall setups by ~1 s. The edge keeps the peer's
 *    ClientHello and hands it to libjuice again a few times until libjuice answers with DTLS of
 *    its own. A copy that arrives after the first was processed is a retransmission, which DTLS
 *    is built to absorb (RFC 6347 §4.2.4).
 * 2. **Slow retransmission under loss.** OpenSSL's DTLS timer starts at 1 s and doubles, so one
 *    lost flight costs a second or more. Each handshake record libjuice sends is sent once more
 *    a little later; the peer's record layer drops the copy as a replay when the first arrived
 *    (RFC 6347 §4.1.2.6), and uses it when the first was lost.
 * 3. **Ignored retransmissions.** OpenSSL does not answer a peer that repeats its flight (the
 *    sign that our last flight was lost); it only resends on its own timer. When a handshake
 *    message the peer already sent arrives again, the edge resends our last flight at once (at
 *    most every `flightReplayGapMs`), as RFC 6347 §4.2.4 has an implementation do.
 * 4. **A shorter flight timer.** When our last flight gets no answer from the peer (a new
 *    handshake message, its ChangeCipherSpec/Finished, or its first application data or RTP)
 *    within about two round trips, the edge resends it: RFC 6347 §4.2.4's timer, started as
 *    libwebrtc starts it (2 × RTT, clamped; webrtc `p2p/base/dtls_transport.cc`
 *    kMinHandshakeTimeout) rather than at OpenSSL's 1 s (libdatachannel 0.24.5
 *    `dtlstransport.cpp`: "starting from the recommended 1s", not configurable from
 *    node-datachannel). Seen under 10 % loss + 60 ± 30 ms (handshake-trace.ts, issue 14): our
 *    ClientHello and its copy both lost, tgcall connected after OpenSSL's timer at 1.6 s.
 * 5. **ICE before DTLS.** libdatachannel starts DTLS when libjuice's ICE connects, i.e. when the
 *    peer answers one of libjuice's checks: a kept ClientHello is handed over again right then
 *    (`iceCheckAnswered`), and each check libjuice sends before we are connected goes once more
 *    (`outboundCheck`), since libjuice retransmits a lost one only after ~200 ms, then ~500 ms.
 *
 * Our own handshake being over (`finish()`) ends only the ClientHello replays and the check
 * copies: as DTLS server we finish on sending our last flight (ChangeCipherSpec, Finished), which
 * the peer may not get — in the traces its copy was never sent and ntgcalls waited for its own
 * timer (263 ms, then doubling). Copies and flight resends go on until both sides are done (the
 * peer shows it with DTLS application data or RTP), or `activeForMs` passed.
 *
 * Not repairable here: as DTLS client, the loss of the peer's last flight (its
 * ChangeCipherSpec/Finished). The peer has our flight; our copies of it are replays to it
 * (RFC 6347 §4.1.2.6), and ntgcalls 3.0.5 did not answer them even with fresh record numbers on
 * the plaintext records (tried; only its encrypted Finished in a new record makes it resend).
 * Only libjuice's OpenSSL can send that, on its 1 s timer: about 1 call in 10 under 10 % loss.
 */

/** RFC 7983 demultiplexing: DTLS records start with 20..63. */
export function isDtlsRecord(data: Uint8Array): boolean {
  const b = data[0];
  return b !== undefined && b >= 20 && b <= 63 && data.length >= 13;
}

const CONTENT_CHANGE_CIPHER_SPEC = 20;
const CONTENT_HANDSHAKE = 22;
const CONTENT_APPLICATION_DATA = 23;
const HANDSHAKE_CLIENT_HELLO = 1;

/** A DTLS record carrying a ClientHello (content type 22, handshake type 1 at offset 13). */
export function isDtlsClientHello(data: Uint8Array): boolean {
  return data.length > 13 && data[0] === CONTENT_HANDSHAKE && data[13] === HANDSHAKE_CLIENT_HELLO;
}

function isHandshakeFlight(data: Uint8Array): boolean {
  return data.length >= 13 && (data[0] === CONTENT_HANDSHAKE || data[0] === CONTENT_CHANGE_CIPHER_SPEC);
}

/** RFC 7983: RTP and RTCP (SRTP once DTLS is done) start with 128..191. */
function isRtp(data: Uint8Array): boolean {
  const b = data[0];
  return b !== undefined && b >= 128 && b <= 191;
}

/**
 * Which handshake message a plaintext (epoch 0) record carries: msg_type, message_seq and
 * fragment_offset (RFC 6347 §4.2.2). A retransmission has the same key and a new record sequence.
 */
function handshakeKey(data: Uint8Array): number | undefined {
  if (data.length < 25 || data[0] !== CONTENT_HANDSHAKE || data[3] !== 0 || data[4] !== 0) return undefined;
  const type = data[13]!;
  const messageSeq = (data[17]! << 8) | data[18]!;
  const offset = (data[19]! << 16) | (data[20]! << 8) | data[21]!;
  return type * 2 ** 40 + messageSeq * 2 ** 24 + offset;
}

const NONE: readonly never[] = Object.freeze([]);

export interface DtlsAssistOptions {
  /** When the kept ClientHello is handed to libjuice again, after it first arrived. */
  readonly replayDelaysMs?: readonly number[];
  /** When the kept ClientHello is handed to libjuice again after libjuice's ICE check succeeded. */
  readonly iceReadyReplayDelaysMs?: readonly number[];
  /** How long after a handshake record it is sent again. */
  readonly duplicateDelayMs?: number;
  /** Our last flight is resent on a peer retransmission at most this often. */
  readonly flightReplayGapMs?: number;
  /** Our unanswered last flight is resent after this long, before a round trip was measured. */
  readonly flightTimeoutMs?: number;
  /** Bounds of the flight timer (two measured round trips), and how often it resends a flight. */
  readonly minFlightTimeoutMs?: number;
  readonly maxFlightTimeoutMs?: number;
  readonly maxFlightResends?: number;
  /** Nothing is repaired later than this after the first DTLS record seen. */
  readonly activeForMs?: number;
}

export interface DtlsAssistOutput<R> {
  /** Datagrams to hand to libjuice as if they came from the peer over route `route`. */
  readonly toEngine: { readonly route: R; readonly data: Uint8Array }[];
  /** Datagrams to send to the peer over `route`, as if libjuice had sent them again. */
  readonly toPeer: { readonly route: R; readonly data: Uint8Array }[];
}

interface Scheduled<R> {
  readonly at: number;
  readonly route: R;
  readonly data: Uint8Array;
  readonly direction: 'engine' | 'peer';
}

type Sent<R> = { readonly route: R; readonly data: Uint8Array };

const MAX_SCHEDULED = 32;
/** Records kept of our last flight (a DTLS 1.2 flight is at most ~6 records). */
const MAX_FLIGHT = 8;
const MAX_SEEN = 32;

export class DtlsAssist<R> {
  private readonly replayDelaysMs: readonly number[];
  private readonly duplicateDelayMs: number;
  private readonly activeForMs: number;
  private readonly flightReplayGapMs: number;
  private readonly minFlightTimeoutMs: number;
  private readonly maxFlightTimeoutMs: number;
  private readonly maxFlightResends: number;
  private scheduled: Scheduled<R>[] = [];
  private engineSpoke = false;
  /** The peer's last ClientHello, while libjuice has not answered it. */
  private keptHello: Sent<R> | undefined;
  private readonly iceReadyReplayDelaysMs: readonly number[];
  private firstSeenAt: number | undefined;
  /** The peer finished its handshake (or the time is up): nothing more to repair. */
  private done = false;
  /** Our side finished: no more ClientHello replays. */
  private ourDone = false;
  /** Handshake messages the peer sent (epoch 0), to recognise its retransmissions. */
  private readonly seen = new Set<number>();
  /** Our last flight: the handshake records libjuice sent since the peer's last new message. */
  private flight: Sent<R>[] = [];
  private flightComplete = false;
  private lastFlightReplay = Number.NEGATIVE_INFINITY;
  /** The flight timer: when our last flight started and was last sent, and whether it was answered. */
  private flightStartedAt = 0;
  private flightSentAt = 0;
  private flightAnswered = true;
  private flightResends = 0;
  private flightTimeoutMs: number;
  /** The peer showed it finished its handshake (application data or SRTP from it). */
  private peerDone = false;
  /** Copies handed to libjuice and sent to the peer, flights resent on a peer retransmission and on our timer, for stats. */
  replayed = 0;
  duplicated = 0;
  flightsResent = 0;
  flightTimeouts = 0;

  constructor(options: DtlsAssistOptions = {}) {
    this.replayDelaysMs = options.replayDelaysMs ?? [30, 100, 250, 500];
    this.iceReadyReplayDelaysMs = options.iceReadyReplayDelaysMs ?? [5, 20, 50];
    this.duplicateDelayMs = options.duplicateDelayMs ?? 40;
    this.activeForMs = options.activeForMs ?? 15_000;
    this.flightReplayGapMs = options.flightReplayGapMs ?? 100;
    this.flightTimeoutMs = options.flightTimeoutMs ?? 300;
    this.minFlightTimeoutMs = options.minFlightTimeoutMs ?? 150;
    this.maxFlightTimeoutMs = options.maxFlightTimeoutMs ?? 1000;
    this.maxFlightResends = options.maxFlightResends ?? 4;
  }

  /**
   * A datagram from the peer on its way to libjuice. Returns our last flight when the datagram
   * is a retransmission of the peer's (send it again now), else nothing.
   */
  inbound(route: R, data: Uint8Array, now: number): readonly Sent<R>[] {
    // SRTP or DTLS application data from the peer: it has its keys, so it finished its handshake.
    if (isRtp(data) && this.firstSeenAt !== undefined && !this.done) {
      this.peerFinished();
      return NONE;
    }
    if (!this.watching(data, now)) return NONE;
    if (data[0] === CONTENT_APPLICATION_DATA) {
      this.peerFinished();
      return NONE;
    }
    const key = handshakeKey(data);
    if (key !== undefined) {
      if (this.seen.has(key)) return this.resendFlight(now);
      if (this.seen.size < MAX_SEEN) this.seen.add(key);
      // A new message from the peer: whatever libjuice sends next is a new flight.
      this.flightComplete = true;
      this.answered(now);
    } else if (isHandshakeFlight(data)) {
      // ChangeCipherSpec or an encrypted Finished: the peer's last flight answers ours.
      this.answered(now);
    }
    if (this.engineSpoke || this.ourDone || !isDtlsClientHello(data)) return NONE;
    // A newer ClientHello (a retransmission) replaces the kept one and restarts the replays.
    this.scheduled = this.scheduled.filter((s) => s.direction !== 'engine');
    const copy = Uint8Array.from(data);
    this.keptHello = { route, data: copy };
    for (const delay of this.replayDelaysMs) this.schedule({ at: now + delay, route, data: copy, direction: 'engine' });
    return NONE;
  }

  /**
   * The peer answered one of libjuice's ICE checks: libjuice's pair succeeds now, and
   * libdatachannel starts its DTLS transport right after (it starts it when ICE connects). A
   * ClientHello that came earlier was dropped; it is handed over again at once rather than at
   * the next fixed replay (seen: the ClientHello came 100 ms before libjuice's check succeeded,
   * and waited 150 ms more for the replay at +250 ms).
   */
  iceCheckAnswered(now: number): void {
    const hello = this.keptHello;
    if (!hello || this.engineSpoke || this.ourDone || this.done) return;
    for (const delay of this.iceReadyReplayDelaysMs) this.schedule({ at: now + delay, route: hello.route, data: hello.data, direction: 'engine' });
  }

  /** A datagram from libjuice on its way to the peer. */
  outbound(route: R, data: Uint8Array, now: number): void {
    if (!this.watching(data, now)) return;
    if (!this.engineSpoke) {
      this.engineSpoke = true;
      this.keptHello = undefined;
      this.scheduled = this.scheduled.filter((s) => s.direction !== 'engine');
    }
    if (!isHandshakeFlight(data)) return;
    const copy = Uint8Array.from(data);
    this.schedule({ at: now + this.duplicateDelayMs, route, data: copy, direction: 'peer' });
    if (this.flightComplete || this.flightAnswered) {
      this.flight = [];
      this.flightComplete = false;
      this.flightAnswered = false;
      this.flightResends = 0;
      this.flightStartedAt = now;
    }
    if (this.flight.length < MAX_FLIGHT) this.flight.push({ route, data: copy });
    this.flightSentAt = now;
  }

  /**
   * One of libjuice's ICE checks (a STUN binding request) on its way to the peer, before our
   * handshake is over: sent once more `duplicateDelayMs` later, like a handshake record. The copy
   * has the same transaction ID, a retransmission the peer answers again (RFC 5389 §7.2.1), so a
   * check and its answer each get two chances. libjuice retransmits on its own after ~200 ms,
   * then ~500 ms (seen: both lost, connected at 1.04 s instead of ~0.4 s, handshake-trace.ts).
   */
  outboundCheck(route: R, data: Uint8Array, now: number): void {
    if (this.done || this.ourDone) return;
    this.schedule({ at: now + this.duplicateDelayMs, route, data: Uint8Array.from(data), direction: 'peer' });
  }

  /**
   * Our handshake is over (media flows): no more ClientHello replays. Copies of our last flight
   * and its resends go on until the peer shows it is done too (see the file comment).
   */
  finish(): void {
    this.ourDone = true;
    this.keptHello = undefined;
    this.scheduled = this.scheduled.filter((s) => s.direction !== 'engine');
    if (this.peerDone) this.finishAll();
  }

  /** Nothing more to repair (the call ends). */
  close(): void {
    this.finishAll();
  }

  tick(now: number): DtlsAssistOutput<R> {
    const out: DtlsAssistOutput<R> = { toEngine: [], toPeer: [] };
    if (this.done) return out;
    if (this.expired(now)) {
      this.finishAll();
      return out;
    }
    const timer = this.flightDeadline();
    if (timer !== undefined && timer <= now) {
      // RFC 6347 §4.2.4.1: resend the flight, double the timer.
      this.flightResends++;
      this.flightTimeouts++;
      this.flightSentAt = now;
      this.flightTimeoutMs = Math.min(this.maxFlightTimeoutMs, this.flightTimeoutMs * 2);
      out.toPeer.push(...this.flight);
    }
    const due = this.scheduled.filter((s) => s.at <= now);
    if (due.length === 0) return out;
    this.scheduled = this.scheduled.filter((s) => s.at > now);
    for (const s of due) {
      if (s.direction === 'engine') {
        out.toEngine.push({ route: s.route, data: s.data });
        this.replayed++;
      } else {
        out.toPeer.push({ route: s.route, data: s.data });
        this.duplicated++;
      }
    }
    return out;
  }

  nextDeadline(): number | undefined {
    if (this.done) return undefined;
    let next = this.flightDeadline();
    for (const s of this.scheduled) if (next === undefined || s.at < next) next = s.at;
    return next;
  }

  private flightDeadline(): number | undefined {
    if (this.flightAnswered || this.flight.length === 0 || this.flightResends >= this.maxFlightResends) return undefined;
    return this.flightSentAt + this.flightTimeoutMs;
  }

  /**
   * The peer has its keys (the first time it shows). With ours too there is nothing left to
   * repair. Without: the peer has our last flight and its own last one was lost or is late —
   * which only libjuice's OpenSSL can make it resend (see the file comment), so our timer on that
   * flight stops; a flight libjuice sends after this one is timed and copied as usual.
   */
  private peerFinished(): void {
    if (this.ourDone) return this.finishAll();
    if (this.peerDone) return;
    this.peerDone = true;
    // Copies still go: libjuice's own retransmission (new records, after its 1 s timer) is copied
    // too, and its copy is the only one to reach the peer when its Finished is lost (seen: that
    // copy was dropped here, and the call waited for OpenSSL's next timer, 2 s more).
    this.flightAnswered = true;
  }

  /** The peer answered our last flight: its timer stops; a flight never resent gives a round trip (Karn). */
  private answered(now: number): void {
    if (this.flightAnswered || this.flight.length === 0) return;
    this.flightAnswered = true;
    if (this.flightResends === 0) {
      const rtt = now - this.flightStartedAt;
      this.flightTimeoutMs = Math.max(this.minFlightTimeoutMs, Math.min(this.maxFlightTimeoutMs, 2 * rtt));
    }
  }

  private resendFlight(now: number): readonly Sent<R>[] {
    if (this.flight.length === 0 || now - this.lastFlightReplay < this.flightReplayGapMs) return NONE;
    this.lastFlightReplay = now;
    this.flightsResent++;
    // The peer's timer covers this flight now; ours restarts from here.
    this.flightSentAt = now;
    return this.flight;
  }

  private finishAll(): void {
    this.done = true;
    this.ourDone = true;
    this.scheduled = [];
    this.flight = [];
    this.keptHello = undefined;
    this.seen.clear();
  }

  private watching(data: Uint8Array, now: number): boolean {
    if (this.done || !isDtlsRecord(data)) return false;
    this.firstSeenAt ??= now;
    if (this.expired(now)) {
      this.finishAll();
      return false;
    }
    return true;
  }

  private expired(now: number): boolean {
    return this.firstSeenAt !== undefined && now - this.firstSeenAt > this.activeForMs;
  }

  private schedule(item: Scheduled<R>): void {
    if (this.scheduled.length < MAX_SCHEDULED) this.scheduled.push(item);
  }
}
