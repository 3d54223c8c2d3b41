/**
 * What `TelegramCalls` checks at construction and at `call()` (issue 15 defects 1 and 7): a bad
 * option or call target is refused where it is given, with a typed error, instead of ending a
 * call later with a misleading code (or, for a bind address, aborting the process inside
 * libjuice before the network edge existed).
 */
import { isIP } from 'node:net';
import { CallSignalingError, TransportError } from '../errors.js';
import { hostAddresses, isLocalAddress, type InterfaceTable } from '../network/host-addresses.js';

/** The longest timeout accepted (the signaling layer's bound, call-timeouts.ts). */
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
/** More concurrent calls than this is a typo, not a plan (each call holds sockets, timers, an Opus codec). */
export const MAX_CONCURRENT_CALLS = 10_000;
/** User ids are positive int64 (TL `long`); access hashes are any int64. */
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

export interface CheckedTimeouts {
  readonly ringMs?: number;
  readonly receiveMs?: number;
  readonly connectMs?: number;
}

/**
 * Each given timeout must be a whole number of ms in 1..24 h. Unlike the signaling layer (where
 * 0 disables a deadline), `TelegramCalls` keeps every deadline: 0 would let a call wait forever
 * on a server or peer that never answers.
 */
export function checkTimeouts(timeouts: unknown): CheckedTimeouts {
  if (timeouts === undefined) return {};
  if (typeof timeouts !== 'object' || timeouts === null) throw invalid('timeouts must be an object');
  const out: Record<string, number> = {};
  for (const key of ['ringMs', 'receiveMs', 'connectMs'] as const) {
    const v = (timeouts as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TIMEOUT_MS) {
      throw invalid(`timeouts.${key} must be a whole number of milliseconds in 1..${MAX_TIMEOUT_MS}, got ${String(v)}`);
    }
    out[key] = v;
  }
  return out;
}

export function checkMaxConcurrentCalls(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENT_CALLS) {
    throw invalid(`maxConcurrentCalls must be an integer in 1..${MAX_CONCURRENT_CALLS}, got ${String(value)}`);
  }
  return value;
}

/** More codec workers than this is a typo: each is a thread with its own V8 heap. */
export const MAX_CODEC_WORKERS = 64;

/** `codecWorkers`: a whole number of worker threads, 0 (the default) for none. */
export function checkCodecWorkers(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CODEC_WORKERS) {
    throw invalid(`codecWorkers must be an integer in 0..${MAX_CODEC_WORKERS}, got ${String(value)}`);
  }
  return value;
}

/** `relayOnly`: a boolean; anything else (a string 'false' would be truthy) is refused. */
export function checkRelayOnly(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(`relayOnly must be true or false, got ${JSON.stringify(String(value))}`);
  return value;
}

/** An IP literal of this host (any interface), or a wildcard address. */
export function checkBindAddress(value: unknown, interfaces: InterfaceTable): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new TransportError('INVALID_BIND_ADDRESS', `bindAddress must be an IP address of this host, got ${JSON.stringify(String(value))}`);
  }
  if (value === '0.0.0.0' || value === '::') return value;
  if (!isLocalAddress(interfaces, value)) {
    throw new TransportError('INVALID_BIND_ADDRESS', `bindAddress ${value} is not an address of this host`);
  }
  return value;
}

export interface CheckedPortRange {
  readonly begin: number;
  readonly end: number;
}

export function checkPortRange(value: unknown): CheckedPortRange | undefined {
  if (value === undefined) return undefined;
  const r = value as { begin?: unknown; end?: unknown } | null;
  const port = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
  if (typeof r !== 'object' || r === null || !port(r.begin) || !port(r.end) || r.begin > r.end) {
    throw new TransportError('INVALID_PORT_RANGE', 'portRange must be { begin, end } with 1 <= begin <= end <= 65535');
  }
  return { begin: r.begin, end: r.end };
}

/**
 * Ports of `portRange` one call always takes: its direct UDP socket, one per address family it
 * listens on (IPv4; also IPv6 when it binds the wildcard on a host with a global IPv6 address).
 * Each UDP relay of the call (TURN allocation, reflector) takes one more; those depend on the
 * servers Telegram hands out with the call, so a call that finds the range used up by them ends
 * with `PORT_RANGE_EXHAUSTED`. libjuice's own sockets are on 127.0.0.1 outside the range.
 */
export function directPortsPerCall(bindAddress: string | undefined, interfaces: InterfaceTable): number {
  if (bindAddress !== undefined) return 1;
  return hostAddresses(interfaces).ipv6.length > 0 ? 2 : 1;
}

/** How many calls a port range can hold at once (at least 1, or a typed error). */
export function rangeCapacity(range: CheckedPortRange, perCall: number): number {
  const size = range.end - range.begin + 1;
  const capacity = Math.floor(size / perCall);
  if (capacity < 1) {
    throw new TransportError('INVALID_PORT_RANGE', `portRange ${range.begin}-${range.end} has ${size} port(s); one call needs ${perCall}`);
  }
  return capacity;
}

export interface CheckedTarget {
  readonly kind: 'id';
  readonly userId: bigint;
  readonly accessHash: bigint | undefined;
}

/**
 * A call target as a user id (with its access hash when given), or the string to resolve by
 * name. Anything else is `USER_ID_INVALID`, thrown before any request is made.
 */
export function checkCallTarget(user: unknown): CheckedTarget | { readonly kind: 'name'; readonly name: string } {
  const bad = (what: string): CallSignalingError => new CallSignalingError('USER_ID_INVALID', `cannot call ${what}`);
  const userId = (v: bigint): bigint => {
    if (v < 1n || v > INT64_MAX) throw bad(`user id ${v} (user ids are 1..2^63-1)`);
    return v;
  };
  if (typeof user === 'bigint') return { kind: 'id', userId: userId(user), accessHash: undefined };
  if (typeof user === 'number') {
    if (!Number.isSafeInteger(user) || user <= 0) throw bad(`user id ${user}`);
    return { kind: 'id', userId: BigInt(user), accessHash: undefined };
  }
  if (typeof user === 'string') {
    if (/^\d+$/.test(user)) return { kind: 'id', userId: userId(BigInt(user)), accessHash: undefined };
    if (user.trim() === '') throw bad('an empty name');
    return { kind: 'name', name: user };
  }
  if (typeof user === 'object' && user !== null && 'userId' in user) {
    const { userId: id, accessHash } = user as { userId: unknown; accessHash?: unknown };
    if (typeof id !== 'bigint') throw bad(`{ userId: ${typeof id} } (userId must be a bigint)`);
    if (accessHash !== undefined && (typeof accessHash !== 'bigint' || accessHash < INT64_MIN || accessHash > INT64_MAX)) {
      throw bad('a target whose accessHash is not an int64 bigint');
    }
    return { kind: 'id', userId: userId(id), accessHash };
  }
  throw bad(user === null ? 'null' : `a ${typeof user} (expected a user id, a name or { userId, accessHash? })`);
}

function invalid(message: string): CallSignalingError {
  return new CallSignalingError('INVALID_OPTION', message);
}
