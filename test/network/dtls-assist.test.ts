import { describe, expect, it } from 'vitest';
import { DtlsAssist } from '../../src/network/dtls-assist.js';

/** A DTLS 1.2 record (RFC 6347 §4.1): content type, version 1.2, epoch, sequence number, body. */
function record(type: number, epoch: number, seq: number, body: readonly number[]): Uint8Array {
  return Uint8Array.from([type, 0xfe, 0xfd, 0, epoch, 0, 0, 0, 0, 0, seq, 0, body.length, ...body]);
}
/** A plaintext handshake message (§4.2.2): msg_type, length, message_seq, fragment offset/length. */
const handshake = (msgType: number, seq: number, messageSeq: number): Uint8Array =>
  record(22, 0, seq, [msgType, 0, 0, 4, 0, messageSeq, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
const CLIENT_HELLO = handshake(1, 0, 0);
const SERVER_HELLO = handshake(2, 0, 0);
const CERTIFICATE = handshake(11, 1, 1);
const CLIENT_KEY_EXCHANGE = handshake(16, 2, 2);
/** ChangeCipherSpec and an encrypted Finished (epoch 1) in one datagram: a final flight. */
const FINAL_FLIGHT = Uint8Array.from([...record(20, 0, 3, [1]), ...record(22, 1, 0, [9, 9, 9, 9, 9, 9, 9, 9])]);
const APP_DATA = record(23, 1, 1, [7, 7, 7, 7]);
const RTP = Uint8Array.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9]);

const ROUTE = 1;

/** Drives the assist on a test clock: its timers run up to each step; what it sent, and when. */
class Driver {
  readonly sent: { at: number; data: Uint8Array }[] = [];
  constructor(readonly assist: DtlsAssist<number>) {}
  until(t: number): this {
    for (let guard = 0; guard < 100; guard++) {
      const at = this.assist.nextDeadline();
      if (at === undefined || at > t) break;
      for (const p of this.assist.tick(at).toPeer) this.sent.push({ at, data: p.data });
    }
    return this;
  }
  in(t: number, data: Uint8Array): Uint8Array[] {
    return this.until(t).assist.inbound(ROUTE, data, t).map((r) => r.data);
  }
  out(t: number, data: Uint8Array): void {
    this.until(t).assist.outbound(ROUTE, data, t);
  }
  sentFrom(t: number): { at: number; data: Uint8Array }[] {
    return this.sent.filter((s) => s.at >= t);
  }
}

/** The server side up to our last flight: ClientHello in, our flight out, the peer's next flight in. */
function serverUpToFinal(options: ConstructorParameters<typeof DtlsAssist<number>>[0] = {}): Driver {
  const d = new Driver(new DtlsAssist<number>({ duplicateDelayMs: 40, flightTimeoutMs: 300, ...options }));
  d.in(0, CLIENT_HELLO);
  d.out(10, SERVER_HELLO);
  d.in(150, CERTIFICATE); // the peer's next flight: ours arrived
  return d;
}

describe('DtlsAssist as DTLS server', () => {
  it('still copies and resends our last flight after our own handshake is over, until the peer shows it finished', () => {
    const d = serverUpToFinal();
    d.out(160, FINAL_FLIGHT);
    // libdatachannel's track opens with our last flight: we are done, the peer may not be
    d.assist.finish();
    d.until(999);
    const sent = d.sentFrom(160);
    expect(sent[0]).toEqual({ at: 200, data: FINAL_FLIGHT }); // the copy
    expect(sent.length).toBeGreaterThan(1); // and the flight timer's resends
    expect(sent.every((s) => s.data === FINAL_FLIGHT || s.data.length === FINAL_FLIGHT.length)).toBe(true);
    // the peer's first SRTP packet: it has our Finished, nothing more to do
    expect(d.in(1000, RTP)).toEqual([]);
    expect(d.assist.nextDeadline()).toBeUndefined();
  });

  it('copies a last flight that reaches the edge after the track opened', () => {
    const d = serverUpToFinal();
    d.until(155).assist.finish(); // libdatachannel's open callback came first
    d.out(160, FINAL_FLIGHT);
    d.until(200);
    expect(d.sentFrom(160)).toEqual([{ at: 200, data: FINAL_FLIGHT }]);
  });

  it('answers the peer repeating its flight with our last one, also after our handshake is over', () => {
    const d = serverUpToFinal({ flightReplayGapMs: 100 });
    d.out(160, FINAL_FLIGHT);
    d.assist.finish();
    const again = handshake(11, 5, 1); // the same Certificate in a new record
    expect(d.in(420, again)).toEqual([FINAL_FLIGHT]);
    expect(d.assist.flightsResent).toBe(1);
    // application data from the peer: it is done, and so are we
    d.in(500, APP_DATA);
    expect(d.assist.nextDeadline()).toBeUndefined();
    expect(d.in(700, handshake(11, 6, 1))).toEqual([]);
  });
});

describe('DtlsAssist as DTLS client', () => {
  it('resends an unanswered ClientHello on its own timer, doubling, and stops when the peer answers', () => {
    const d = new Driver(new DtlsAssist<number>({ duplicateDelayMs: 40, flightTimeoutMs: 300, maxFlightTimeoutMs: 1000 }));
    d.out(0, CLIENT_HELLO);
    d.until(1000);
    // the copy at 40, then the timer at 300 and 300 + 600
    expect(d.sent.map((s) => s.at)).toEqual([40, 300, 900]);
    expect(d.sent.every((s) => s.data.length === CLIENT_HELLO.length)).toBe(true);
    expect(d.assist.flightTimeouts).toBe(2);
    d.in(1050, SERVER_HELLO);
    expect(d.assist.nextDeadline()).toBeUndefined();
  });

  it('times the next flight from the round trip of an answered one (Karn: never from a resent one)', () => {
    const d = new Driver(new DtlsAssist<number>({ duplicateDelayMs: 40, flightTimeoutMs: 300, minFlightTimeoutMs: 150, maxFlightTimeoutMs: 1000 }));
    d.out(0, CLIENT_HELLO);
    d.in(120, SERVER_HELLO); // answered after 120 ms, never resent
    d.out(130, CERTIFICATE);
    d.out(130, CLIENT_KEY_EXCHANGE);
    d.until(400);
    // the copies at 170, then the whole flight again 2 × 120 ms after it went out
    expect(d.sentFrom(130).map((s) => [s.at, s.data])).toEqual([
      [170, CERTIFICATE],
      [170, CLIENT_KEY_EXCHANGE],
      [370, CERTIFICATE],
      [370, CLIENT_KEY_EXCHANGE],
    ]);
  });

  it('stops its timer on a flight the peer has (it is done), and still copies what libjuice resends after', () => {
    const d = new Driver(new DtlsAssist<number>({ duplicateDelayMs: 40, flightTimeoutMs: 300 }));
    d.out(0, CLIENT_HELLO);
    d.in(120, SERVER_HELLO);
    d.out(130, CERTIFICATE);
    // the peer's ChangeCipherSpec/Finished were lost; its application data arrives first
    d.in(160, APP_DATA);
    d.until(1000);
    expect(d.sentFrom(130).map((s) => s.at)).toEqual([170]); // the copy, no timer resends
    expect(d.assist.nextDeadline()).toBeUndefined();
    // libjuice's OpenSSL resends on its own timer (new records): copied, though the peer's SRTP flows
    const resent = handshake(11, 9, 1);
    d.out(1130, resent);
    d.in(1150, RTP);
    d.until(1170);
    expect(d.sentFrom(1130)).toEqual([{ at: 1170, data: resent }]);
    // our handshake ends when the peer answers it: nothing left
    d.in(1300, FINAL_FLIGHT);
    d.assist.finish();
    expect(d.assist.nextDeadline()).toBeUndefined();
    expect(d.in(2100, handshake(11, 7, 1))).toEqual([]);
  });

  it('takes the peer ChangeCipherSpec/Finished as the answer to our last flight', () => {
    const d = new Driver(new DtlsAssist<number>({ duplicateDelayMs: 40, flightTimeoutMs: 300 }));
    d.out(0, CLIENT_HELLO);
    d.in(120, SERVER_HELLO);
    d.out(130, CERTIFICATE);
    d.in(250, FINAL_FLIGHT);
    d.until(2000);
    expect(d.sentFrom(130).map((s) => s.at)).toEqual([170]); // only the copy
  });
});

describe('DtlsAssist: the peer ClientHello before libjuice is ready', () => {
  it('hands it to libjuice again right after libjuice’s ICE check is answered, until libjuice answers', () => {
    const assist = new DtlsAssist<number>({ replayDelaysMs: [30, 100, 250, 500], iceReadyReplayDelaysMs: [5, 20, 50] });
    assist.inbound(ROUTE, CLIENT_HELLO, 0);
    const toEngine = (from: number, to: number): number[] => {
      const at: number[] = [];
      for (let guard = 0; guard < 100; guard++) {
        const next = assist.nextDeadline();
        if (next === undefined || next > to || next < from) break;
        if (assist.tick(next).toEngine.length > 0) at.push(next);
      }
      return at;
    };
    expect(toEngine(0, 110)).toEqual([30, 100]);
    assist.iceCheckAnswered(120); // the peer's binding success on its way to libjuice
    expect(toEngine(110, 200)).toEqual([125, 140, 170]);
    assist.outbound(ROUTE, SERVER_HELLO, 172); // libjuice answered: no more replays
    assist.iceCheckAnswered(300);
    expect(toEngine(172, 2000)).toEqual([]);
    expect(assist.replayed).toBe(5);
  });
});
