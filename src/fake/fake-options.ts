/**
 * What a FakeTelegram is built from: its options, hooks and the shapes they take (connections,
 * per-side call settings, the fake's own reflector, relayed signaling packets, the request log),
 * and the production call config it serves by default. Types and defaults only.
 */
import type { Api } from 'telegram';
import type { Logger } from '../logger.js';
import type { TlObjectLike } from '../signaling/mtproto.js';
import type { PhoneConnection } from '../signaling/phone-call-record.js';
import type { FakeReflectorOptions } from './fake-reflector.js';
import type { FakeCallInfo } from './server-call.js';
import type { SignalingRelayOptions } from './signaling-relay.js';
import type { FakeCallConfig } from './tl-views.js';

/** What a production `help.getConfig` carries for calls (config dumps of Telegram clients). */
export const DEFAULT_CALL_CONFIG: FakeCallConfig = Object.freeze({
  callReceiveTimeoutMs: 20_000,
  callRingTimeoutMs: 90_000,
  callConnectTimeoutMs: 30_000,
  callPacketTimeoutMs: 10_000,
  expiresInSeconds: 3_600,
});

export type FakeCustomParameters = string | Readonly<Record<string, unknown>>;

/** `T` with the keys `K` made optional. */
type WithOptional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/**
 * A TURN/STUN (or legacy reflector) server the fake puts into `phoneCall.connections`: the
 * decoded `PhoneConnection`, with everything but the address optional (defaults: id = position,
 * empty strings, false flags).
 */
export type FakeConnection =
  | WithOptional<Extract<PhoneConnection, { kind: 'webrtc' }>, 'id' | 'ipv6' | 'username' | 'password' | 'turn' | 'stun'>
  | WithOptional<Extract<PhoneConnection, { kind: 'reflector' }>, 'id' | 'ipv6' | 'tcp'>;

/** What the server puts into one side's phoneCall. */
export interface FakeCallSettings {
  readonly connections: readonly FakeConnection[];
  readonly p2pAllowed: boolean;
  /** undefined leaves `custom_parameters` out. */
  readonly customParameters: FakeCustomParameters | undefined;
}

/** The fake's own reflector: FakeReflector's options plus how the call's entry names it. */
export interface FakeTelegramReflectorOptions extends FakeReflectorOptions {
  /** The entry's `tcp` flag: clients reach the reflector over TCP (reflector.md §4). Default false. */
  useTcp?: boolean;
  /** The entry's `id` (int64). Default 1000. */
  connectionId?: bigint;
}

export interface FakeTelegramOptions {
  /** Seed of every random choice the fake makes (ids, randoms, faults). */
  readonly seed?: number;
  /** The DH group served by getDhConfig. Defaults: Telegram's prime, g = 3, version 1. */
  readonly dh?: { readonly g?: number; readonly p?: Uint8Array; readonly version?: number };
  readonly connections?: readonly FakeConnection[];
  /** `phoneCall.p2p_allowed`. Default true. */
  readonly p2pAllowed?: boolean;
  /**
   * `phoneCall.custom_parameters` (a JSON string or object), or a function giving them per call
   * (e.g. `network_signaling_nosctp` for some calls only; asked once per side, so answer both
   * alike); undefined leaves the field out.
   */
  readonly customParameters?: FakeCustomParameters | ((call: FakeCallInfo) => FakeCustomParameters | undefined);
  /**
   * Run a reflector with the fake and hand it out in every call's `connections` (a
   * `phoneConnection` with a per-call peer tag, after the `connections` above). `true` = defaults
   * (127.0.0.1, UDP, no loss); an object sets loss, duplication, host (e.g. `::1`), TCP.
   */
  readonly reflector?: boolean | FakeTelegramReflectorOptions;
  /**
   * Per call and per side: what `viewer`'s phoneCall carries. Gets the defaults (the options above,
   * the fake's reflector entry included) and returns the fields to change; asked once per side
   * when the call becomes active. E.g. the mixed case: one side only TURN, the other only the reflector.
   */
  readonly callSettings?: (ctx: {
    readonly call: FakeCallInfo;
    readonly viewer: bigint;
    readonly defaults: FakeCallSettings;
  }) => Partial<FakeCallSettings> | undefined;
  /** Picks the version from the caller's and callee's lists; undefined means no common version. */
  readonly chooseVersion?: (callerVersions: readonly string[], calleeVersions: readonly string[]) => string | undefined;
  /** Who refuses a call to a user already in a call. Default 'server'. */
  readonly busy?: 'server' | 'client';
  /** Server-side ring timeout: an unanswered call is discarded with `missed`. 0 (default) = off. */
  readonly ringTimeoutMs?: number;
  /** need_rating on discarded calls; default: true when the call had become active. */
  readonly needRating?: boolean;
  readonly needDebug?: boolean;
  /**
   * The call timeouts `help.getConfig` answers with (defaults: a production config's 20 000 /
   * 90 000 / 30 000 / 10 000 ms, valid an hour); `false`: help.getConfig fails like an
   * unreachable DC. Change them later with `setConfig`.
   */
  readonly config?: Partial<FakeCallConfig> | false;
  /** Loss / delay / duplication / reordering of relayed signaling data. */
  readonly signaling?: SignalingRelayOptions;
  /** How updates are wrapped on delivery. Default 'none' (single updates, as GramJS's Raw handler sees them). */
  readonly updateContainers?: 'none' | 'short' | 'updates' | 'mixed';
  /** Delay of update delivery (ms). Default 0 (next macrotask). */
  readonly updateDelayMs?: number;
  /** Delay of results after processing (ms), so updates can overtake them. Default 0 (microtask). */
  readonly resultDelayMs?: number;
  readonly logger?: Logger;
}

export interface FakeSignalingPacket {
  readonly from: bigint;
  readonly to: bigint;
  readonly callId: bigint;
  readonly data: Uint8Array;
  /** 0-based index of this packet among those `from` sent in this call. */
  readonly index: number;
}

export interface FakeTelegramHooks {
  /** Every update on its way to `to`: return a replacement, several (duplicates/replays), or null to drop. */
  update?: (ctx: { readonly to: bigint; readonly update: Api.TypeUpdate }) => Api.TypeUpdate | readonly Api.TypeUpdate[] | null | undefined;
  /** Every successful result before the client sees it; return the (possibly modified) result. */
  result?: (ctx: { readonly from: bigint; readonly request: TlObjectLike; readonly result: unknown }) => unknown;
  /**
   * Every request before it is processed; throw to make it fail (e.g. `fakeFloodWait(2)`), or
   * return 'drop' to leave it unanswered (a request lost with its connection: it is not processed
   * and its promise settles only when the fake closes).
   */
  request?: (ctx: { readonly from: bigint; readonly request: TlObjectLike }) => void | 'drop';
  /** Every relayed signaling packet: return a replacement, several (duplicates/replays), or null to drop. */
  signaling?: (packet: FakeSignalingPacket) => Uint8Array | readonly Uint8Array[] | null | undefined;
}

export interface FakeRequestLogEntry {
  readonly from: bigint;
  readonly method: string;
  readonly at: number;
}

/** The fake's reflector: its own seed, and TCP accepted only when the entry says TCP (or asked). */
export function reflectorStartOptions(option: true | FakeTelegramReflectorOptions, seed: number): FakeReflectorOptions {
  const o = option === true ? {} : option;
  return { seed: seed ^ 0x7ef1, ...o, tcp: o.useTcp === true || o.tcp === true };
}
