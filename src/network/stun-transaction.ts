/**
 * STUN client transactions over UDP (RFC 8489 §6.2.1): retransmission schedule and transaction ids,
 * shared by the Binding client and the TURN client.
 *
 * The RFC's defaults (RTO 500 ms, Rc = 7, Rm = 16) give up after 39.5 s, longer than a call's whole
 * connect budget (20–30 s, official-clients.md §5), and cost 500 ms of setup per lost first packet.
 * Gathering is on the critical path of call setup: a srflx or relay candidate helps only once
 * signalled. So `CALL_SETUP_RETRANSMIT` starts at 100 ms and doubles to a 1.6 s cap: 7 transmissions
 * at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 4.7 s and a timeout at 6.3 s — a quarter of the connect budget,
 * leaving time for the call to use another path. A retransmission the server answers twice (its RTT
 * above 100 ms) costs one small extra datagram: Binding is stateless, and a TURN server answers a
 * retransmitted request (same transaction id) as the same request (RFC 8656 §7.2, §16.1); the
 * second answer is dropped as a finished transaction.
 */
import { randomBytes } from 'node:crypto';

export interface RetransmitPolicy {
  /** Delay from the first transmission to the second. */
  readonly initialRtoMs: number;
  /** The doubling stops here. */
  readonly maxRtoMs: number;
  /** Transmissions in all, the first included (the RFC's Rc). */
  readonly maxTransmissions: number;
  /** Wait after the last transmission before the transaction times out (the RFC's Rm × RTO). */
  readonly finalWaitMs: number;
}

export const CALL_SETUP_RETRANSMIT: RetransmitPolicy = Object.freeze({
  initialRtoMs: 100,
  maxRtoMs: 1600,
  maxTransmissions: 7,
  finalWaitMs: 1600,
});

/** Merges and checks a caller's overrides; throws a RangeError on nonsense (API misuse). */
export function retransmitPolicy(overrides: Partial<RetransmitPolicy> | undefined, base: RetransmitPolicy = CALL_SETUP_RETRANSMIT): RetransmitPolicy {
  const policy = { ...base, ...overrides };
  const ok =
    policy.initialRtoMs > 0 &&
    policy.maxRtoMs >= policy.initialRtoMs &&
    Number.isInteger(policy.maxTransmissions) &&
    policy.maxTransmissions >= 1 &&
    policy.maxTransmissions <= 20 &&
    policy.finalWaitMs > 0;
  if (!ok) throw new RangeError(`bad retransmission policy ${JSON.stringify(policy)}`);
  return Object.freeze(policy);
}

/** Delay after transmission number `sent` (1-based) until the next one, or until the timeout after the last. */
export function retransmitDelay(policy: RetransmitPolicy, sent: number): number {
  if (sent >= policy.maxTransmissions) return policy.finalWaitMs;
  return Math.min(policy.initialRtoMs * 2 ** (sent - 1), policy.maxRtoMs);
}

/** From the first transmission to the timeout. */
export function transactionTimeoutMs(policy: RetransmitPolicy): number {
  let total = 0;
  for (let sent = 1; sent <= policy.maxTransmissions; sent += 1) total += retransmitDelay(policy, sent);
  return total;
}

export type RandomSource = (size: number) => Uint8Array;

export const cryptoRandom: RandomSource = (size) => new Uint8Array(randomBytes(size));

/** 96 random bits (RFC 8489 §6: "uniformly and randomly chosen"). */
export function newTransactionId(random: RandomSource): Uint8Array {
  const id = random(12);
  if (id.length !== 12) throw new RangeError('the random source returned the wrong size');
  return id;
}

/** Map key of a transaction id. */
export function transactionKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
