/**
 * Two repairs of the DTLS handshake that only the network edge can make, because it sees every
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
 *
 * Both stop when the handshake is over (`finish()`) or after `activeForMs`.
 */

/** RFC 7983 demultiplexing: DTLS records start with 20..63. */
export function isDtlsRecord(data: Uint8Array): boolean {
  const b = data[0];
  return b !== undefined && b >= 20 && b <= 63 && data.length >= 13;
}

const CONTENT_CHANGE_CIPHER_SPEC = 20;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;

/** A DTLS record carrying a ClientHello (content type 22, handshake type 1 at offset 13). */
export function isDtlsClientHello(data: Uint8Array): boolean {
  return data.length > 13 && data[0] === CONTENT_HANDSHAKE && data[13] === HANDSHAKE_CLIENT_HELLO;
}

function isHandshakeFlight(data: Uint8Array): boolean {
  return data.length >= 13 && (data[0] === CONTENT_HANDSHAKE || data[0] === CONTENT_CHANGE_CIPHER_SPEC);
}

export interface DtlsAssistOptions {
  /** When the kept ClientHello is handed to libjuice again, after it first arrived. */
  readonly replayDelaysMs?: readonly number[];
  /** How long after a handshake record it is sent again. */
  readonly duplicateDelayMs?: number;
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

const MAX_SCHEDULED = 32;

export class DtlsAssist<R> {
  private readonly replayDelaysMs: readonly number[];
  private readonly duplicateDelayMs: number;
  private readonly activeForMs: number;
  private scheduled: Scheduled<R>[] = [];
  private engineSpoke = false;
  private firstSeenAt: number | undefined;
  private done = false;
  /** Copies handed to libjuice and sent to the peer, for stats. */
  replayed = 0;
  duplicated = 0;

  constructor(options: DtlsAssistOptions = {}) {
    this.replayDelaysMs = options.replayDelaysMs ?? [30, 100, 250, 500];
    this.duplicateDelayMs = options.duplicateDelayMs ?? 40;
    this.activeForMs = options.activeForMs ?? 15_000;
  }

  /** A datagram from the peer on its way to libjuice. */
  inbound(route: R, data: Uint8Array, now: number): void {
    if (!this.watching(data, now) || this.engineSpoke || !isDtlsClientHello(data)) return;
    // A newer ClientHello (a retransmission) replaces the kept one and restarts the replays.
    this.scheduled = this.scheduled.filter((s) => s.direction !== 'engine');
    const copy = Uint8Array.from(data);
    for (const delay of this.replayDelaysMs) this.schedule({ at: now + delay, route, data: copy, direction: 'engine' });
  }

  /** A datagram from libjuice on its way to the peer. */
  outbound(route: R, data: Uint8Array, now: number): void {
    if (!this.watching(data, now)) return;
    if (!this.engineSpoke) {
      this.engineSpoke = true;
      this.scheduled = this.scheduled.filter((s) => s.direction !== 'engine');
    }
    if (isHandshakeFlight(data)) this.schedule({ at: now + this.duplicateDelayMs, route, data: Uint8Array.from(data), direction: 'peer' });
  }

  /** The handshake is over (media flows): nothing more to repair. */
  finish(): void {
    this.done = true;
    this.scheduled = [];
  }

  tick(now: number): DtlsAssistOutput<R> {
    const out: DtlsAssistOutput<R> = { toEngine: [], toPeer: [] };
    if (this.scheduled.length === 0) return out;
    if (this.expired(now)) {
      this.scheduled = [];
      return out;
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
    let next: number | undefined;
    for (const s of this.scheduled) if (next === undefined || s.at < next) next = s.at;
    return next;
  }

  private watching(data: Uint8Array, now: number): boolean {
    if (this.done || !isDtlsRecord(data)) return false;
    this.firstSeenAt ??= now;
    if (this.expired(now)) {
      this.finish();
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
