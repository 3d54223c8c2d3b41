/**
 * The part of Telegram a 1:1 call needs, for serverless interop: it hands out the DH config
 * (messages.getDhConfig: Telegram's 2048-bit prime, g = 3, 256 fresh random bytes) and relays
 * requestCall / acceptCall / confirmCall and the opaque signaling blobs between the two phones,
 * without looking inside, as the server does (call-crypto-and-signaling.md §2.4, §6).
 *
 * Each phone attaches through a small adapter; `attachNtgcallsPeer` is the one for ntgcalls. A
 * TypeScript phone attaches by calling the same RPC methods and listening to the same events.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InteropError } from './interop-error.js';
import type { NtgcallsPeer } from './ntgcalls-peer.js';

export type CallSide = 'caller' | 'callee';

export interface DhConfig {
  g: number;
  p: Uint8Array;
  random: Uint8Array;
  version: number;
}

export interface FakeTelegramEvents {
  /** To the callee: updatePhoneCall{phoneCallRequested}. */
  requested: [{ gAHash: Uint8Array }];
  /** To the caller: updatePhoneCall{phoneCallAccepted}. */
  accepted: [{ gB: Uint8Array }];
  /** To the callee: updatePhoneCall{phoneCall} with g_a_or_b = g_a. */
  confirmed: [{ gA: Uint8Array; fingerprint: bigint }];
  /** To `to`: updatePhoneCallSignalingData. */
  signaling: [{ to: CallSide; data: Uint8Array }];
  /** To the other side: updatePhoneCall{phoneCallDiscarded}. */
  discarded: [{ by: CallSide }];
}

export interface RelayCounters {
  blobs: Record<CallSide, number>;
  bytes: Record<CallSide, number>;
}

const MAX_BLOB = 128 * 1024; // ntgcalls refuses larger incoming packets (ntgcalls-peer.md §2.2)

/** Telegram's 2048-bit safe prime (`p_hex` of test/vectors/test-vectors.json). */
export function telegramDhPrime(): Uint8Array {
  const path = fileURLToPath(new URL('../vectors/test-vectors.json', import.meta.url));
  const vectors = JSON.parse(readFileSync(path, 'utf8')) as { p_hex: string };
  return new Uint8Array(Buffer.from(vectors.p_hex, 'hex'));
}

export class FakeTelegram extends EventEmitter<FakeTelegramEvents> {
  readonly g: number;
  readonly p: Uint8Array;
  /** Blobs and bytes sent by each side. */
  readonly counters: RelayCounters = { blobs: { caller: 0, callee: 0 }, bytes: { caller: 0, callee: 0 } };
  private stage: 'idle' | 'requested' | 'accepted' | 'confirmed' | 'discarded' = 'idle';

  constructor(options: { g?: number; p?: Uint8Array } = {}) {
    super();
    this.g = options.g ?? 3;
    this.p = options.p ?? telegramDhPrime();
  }

  /** messages.getDhConfig(version 0, random_length 256): fresh randomness every time. */
  getDhConfig(): DhConfig {
    return { g: this.g, p: this.p, random: new Uint8Array(randomBytes(256)), version: 1 };
  }

  /** phone.requestCall from the caller. */
  requestCall(gAHash: Uint8Array): void {
    this.expect('idle', 'requestCall');
    if (gAHash.length !== 32) throw new InteropError('BAD_G_A_HASH', `g_a_hash must be 32 bytes, got ${gAHash.length}`);
    this.stage = 'requested';
    this.emit('requested', { gAHash });
  }

  /** phone.acceptCall from the callee. */
  acceptCall(gB: Uint8Array): void {
    this.expect('requested', 'acceptCall');
    if (gB.length === 0 || gB.length > 256) throw new InteropError('BAD_G_B', `g_b length ${gB.length}`);
    this.stage = 'accepted';
    this.emit('accepted', { gB });
  }

  /** phone.confirmCall from the caller. The server cannot check the key; it only relays. */
  confirmCall(gA: Uint8Array, fingerprint: bigint): void {
    this.expect('accepted', 'confirmCall');
    if (gA.length === 0 || gA.length > 256) throw new InteropError('BAD_G_A', `g_a length ${gA.length}`);
    this.stage = 'confirmed';
    this.emit('confirmed', { gA, fingerprint });
  }

  /** phone.sendSignalingData from `from`: delivered verbatim and in order to the other side. */
  sendSignalingData(from: CallSide, data: Uint8Array): void {
    if (this.stage === 'discarded') return;
    if (data.length === 0 || data.length > MAX_BLOB) throw new InteropError('BAD_SIGNALING', `blob length ${data.length}`);
    this.counters.blobs[from] += 1;
    this.counters.bytes[from] += data.length;
    this.emit('signaling', { to: other(from), data });
  }

  /** phone.discardCall from `by`. */
  discardCall(by: CallSide): void {
    if (this.stage === 'discarded') return;
    this.stage = 'discarded';
    this.emit('discarded', { by });
  }

  private expect(stage: typeof this.stage, rpc: string): void {
    if (this.stage !== stage) throw new InteropError('CALL_STATE', `${rpc} in stage ${this.stage}`);
  }
}

/**
 * Wires an ntgcalls peer to `tg` as `side`: the peer's DH values and blobs become RPCs, the
 * server's updates become peer ops. Returns a detach function. Relay failures (a peer that
 * exited) are handed to `onError` instead of being thrown from an event listener.
 */
export function attachNtgcallsPeer(
  tg: FakeTelegram,
  side: CallSide,
  peer: NtgcallsPeer,
  onError: (err: unknown) => void = () => {},
): () => void {
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        onError(err);
      }
    };
  const offs: Array<() => void> = [];
  const onTg = <K extends keyof FakeTelegramEvents>(event: K, fn: (...args: FakeTelegramEvents[K]) => void): void => {
    const g = guard(fn);
    tg.on(event, g as never);
    offs.push(() => tg.off(event, g as never));
  };

  const sig = guard((s: { data: Uint8Array }) => tg.sendSignalingData(side, s.data));
  peer.on('signal', sig);
  offs.push(() => peer.off('signal', sig));
  onTg('signaling', (s) => {
    if (s.to === side) peer.signal(s.data);
  });
  if (side === 'caller') {
    const req = guard((r: { gAHash: Uint8Array }) => tg.requestCall(r.gAHash));
    const conf = guard((c: { gA: Uint8Array; fingerprint: bigint }) => tg.confirmCall(c.gA, c.fingerprint));
    peer.on('request', req);
    peer.on('confirm', conf);
    offs.push(() => peer.off('request', req), () => peer.off('confirm', conf));
    onTg('accepted', (a) => peer.accepted(a.gB));
  } else {
    const acc = guard((a: { gB: Uint8Array }) => tg.acceptCall(a.gB));
    peer.on('accept', acc);
    offs.push(() => peer.off('accept', acc));
    onTg('requested', (r) => peer.request(r.gAHash));
    onTg('confirmed', (c) => peer.confirm(c.gA, c.fingerprint));
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}

function other(side: CallSide): CallSide {
  return side === 'caller' ? 'callee' : 'caller';
}
