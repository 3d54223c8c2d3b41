/**
 * Which servers a call uses, chosen by us, deterministically (issue 12 item 3): from the call's
 * `phoneCall.connections` (reflectors with a peer tag, TURN/STUN `phoneConnectionWebrtc`
 * entries) or from the user's own ICE server list.
 *
 * - TURN: UDP only (official clients skip TCP TURN), IPv4 entries first in list order, IPv6 ones
 *   only when the host has a global IPv6 address; at most `MAX_TURN` allocations.
 * - STUN (server-reflexive discovery): only when p2p is allowed, per family, at most `MAX_STUN`.
 * - Reflectors: every entry, numbered as both ends number them (reflector-servers.ts).
 */
import { isIP } from 'node:net';
import type { Endpoint } from './endpoint.js';
import type { PhoneConnection } from '../signaling/phone-call-record.js';
import { reflectorServers, type ReflectorConnectionInput, type ReflectorServer, type ReflectorSkip } from './reflector-servers.js';

type WebrtcPhoneConnection = Extract<PhoneConnection, { kind: 'webrtc' }>;

/**
 * A `phoneConnectionWebrtc` entry: signaling's decoded `PhoneConnection` (type-only import, no
 * runtime dependency) with all but the port optional, so plain objects work too.
 */
export type WebrtcServerInput = Pick<WebrtcPhoneConnection, 'port'> &
  Partial<Pick<WebrtcPhoneConnection, 'ip' | 'ipv6' | 'username' | 'password' | 'turn' | 'stun'>>;

/** One entry of `phoneCall.connections`, as the signaling layer decodes it. */
export type CallServerInput = ({ readonly kind: 'webrtc' } & WebrtcServerInput) | ({ readonly kind: 'reflector' } & ReflectorConnectionInput);

/** A user-supplied ICE server: node-datachannel's object form, or a `stun:` / `turn:` URL. */
export type IceServerInput =
  | string
  | { readonly hostname: string; readonly port: number; readonly username?: string; readonly password?: string; readonly relayType?: string };

export interface TurnServer {
  /** An IP literal, or a hostname still to be resolved (user-supplied servers only). */
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

export interface StunServer {
  readonly host: string;
  readonly port: number;
}

export interface ServerPlan {
  readonly turn: readonly TurnServer[];
  readonly stun: readonly StunServer[];
  readonly reflectors: readonly ReflectorServer[];
  readonly skipped: readonly ReflectorSkip[];
}

export interface ServerPlanInput {
  readonly connections: readonly CallServerInput[];
  /** Replaces the call's TURN/STUN entries (reflectors stay). */
  readonly iceServers?: readonly IceServerInput[];
  readonly allowDirect: boolean;
  /** The host has a global IPv6 address. */
  readonly ipv6: boolean;
}

export const MAX_TURN = 3;
export const MAX_STUN = 2;

export function planServers(input: ServerPlanInput): ServerPlan {
  const turn: TurnServer[] = [];
  const stun: StunServer[] = [];
  const entries = input.iceServers ? input.iceServers.map(fromIceServer).filter((e): e is Entry => e !== undefined) : fromConnections(input.connections);
  const usable = (host: string): boolean => isIP(host) !== 6 || input.ipv6;
  // IPv4 (and hostnames) before IPv6, each in list order.
  const ordered = [...entries.filter((e) => isIP(e.host) !== 6), ...entries.filter((e) => isIP(e.host) === 6)];
  const seen = new Set<string>();
  for (const e of ordered) {
    if (!usable(e.host)) continue;
    const key = `${e.kind}|${e.host.toLowerCase()}|${e.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (e.kind === 'turn' && turn.length < MAX_TURN) turn.push({ host: e.host, port: e.port, username: e.username, password: e.password });
    else if (e.kind === 'stun' && input.allowDirect && stun.length < MAX_STUN) stun.push({ host: e.host, port: e.port });
  }
  const reflectorEntries = input.connections.filter((c): c is Extract<CallServerInput, { kind: 'reflector' }> => c.kind === 'reflector');
  const { servers, skipped } = reflectorServers(reflectorEntries, { ipv6: input.ipv6 });
  return { turn, stun, reflectors: servers, skipped };
}

/** A STUN server's endpoint once its host is an IP literal. */
export function stunEndpoint(server: StunServer): Endpoint | undefined {
  return isIP(server.host) ? { address: server.host, port: server.port } : undefined;
}

type Entry =
  | { readonly kind: 'turn'; readonly host: string; readonly port: number; readonly username: string; readonly password: string }
  | { readonly kind: 'stun'; readonly host: string; readonly port: number };

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

function fromConnections(connections: readonly CallServerInput[]): Entry[] {
  const out: Entry[] = [];
  for (const c of connections) {
    if (c.kind !== 'webrtc' || !validPort(c.port)) continue;
    for (const host of [c.ip, c.ipv6]) {
      if (typeof host !== 'string' || isIP(host) === 0) continue;
      if (c.turn && typeof c.username === 'string' && typeof c.password === 'string') {
        out.push({ kind: 'turn', host, port: c.port, username: c.username, password: c.password });
      }
      if (c.stun) out.push({ kind: 'stun', host, port: c.port });
    }
  }
  return out;
}

/** node-datachannel's ICE server forms: `{ hostname, port, username?, password?, relayType? }` or a URL. */
function fromIceServer(server: IceServerInput): Entry | undefined {
  if (typeof server !== 'string') {
    if (!validPort(server.port) || server.hostname === '') return undefined;
    if (server.relayType !== undefined && server.relayType !== 'TurnUdp') return undefined; // TURN over TCP/TLS: not used
    if (server.username !== undefined && server.password !== undefined) {
      return { kind: 'turn', host: server.hostname, port: server.port, username: server.username, password: server.password };
    }
    return { kind: 'stun', host: server.hostname, port: server.port };
  }
  // stun:host[:port]   turn:user:pass@host[:port][?transport=udp]   (libdatachannel's URL forms)
  const match = /^(stun|turn):(?:([^:@]*):([^@]*)@)?(\[[0-9a-fA-F:.]+\]|[^:?]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(server);
  if (!match) return undefined;
  const [, scheme, user, pass, rawHost = '', portText, transport] = match;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const port = portText === undefined ? 3478 : Number(portText);
  if (!validPort(port) || transport === 'tcp') return undefined;
  if (scheme === 'turn') {
    if (user === undefined || pass === undefined) return undefined;
    return { kind: 'turn', host, port, username: decodeURIComponent(user), password: decodeURIComponent(pass) };
  }
  return { kind: 'stun', host, port };
}
