/**
 * From a call's reflector entries (`phoneConnection`, the ones with a 16-byte `peer_tag`) to the
 * reflector servers a client talks to, numbered the way both ends of the call number them.
 *
 * Why the numbering matters (reflector.md §1, §5.2): a candidate's hostname carries the server id
 * (`reflector-<serverId>-<id>.reflector`) and the peer's ReflectorPort pairs only with candidates
 * of its *own* server id, so both sides must derive the same id from the same entry list.
 * tdesktop (`CollectEndpointIds`/`AppendServer`) and ntgcalls (`RTCServer::toRtcServers`) use
 * `1 + rank of the entry's id in the ascending set of all reflector entry ids` (TCP ones included)
 * and give each entry one server per address family.
 */
import { isIP } from 'node:net';
import type { Endpoint } from './endpoint.js';
import type { PhoneConnection } from '../signaling/phone-call-record.js';
import { REFLECTOR_DEFAULT_PORT, REFLECTOR_PEER_TAG_LENGTH } from './reflector-codec.js';

/** One reflector entry of `phoneCall.connections`: signaling's decoded `PhoneConnection` of kind 'reflector' (type-only import). */
export type ReflectorConnectionInput = Omit<Extract<PhoneConnection, { kind: 'reflector' }>, 'kind'>;

export interface ReflectorServer {
  /** 1..255: rank of `connectionId` among all reflector entry ids (see file comment). */
  readonly serverId: number;
  readonly connectionId: bigint;
  readonly endpoint: Endpoint;
  readonly family: 4 | 6;
  /** Stream (raw TCP framing, reflector.md §4) instead of UDP. */
  readonly tcp: boolean;
  /** The 16-byte peer tag (a copy); bytes 0..11 go on the wire. */
  readonly peerTag: Uint8Array;
}

export type ReflectorSkipReason =
  /** peer_tag is not 16 bytes: tgcalls refuses to start such a port (reflector.md §2). */
  | 'bad-peer-tag'
  /** rank > 255: tgcalls' uint8 id would wrap to 0 (refused) or collide with a lower server. */
  | 'server-id-overflow'
  | 'bad-port'
  /** Neither address is a usable IP literal of a wanted family. */
  | 'no-address'
  /** Same transport and ip:port as an earlier server: tgcalls matches the first one (§1). */
  | 'duplicate-endpoint';

export interface ReflectorSkip {
  readonly connectionId: bigint;
  readonly reason: ReflectorSkipReason;
  /** The address concerned, for the per-address reasons. */
  readonly address?: string;
}

export interface ReflectorServerOptions {
  /** Also make a server of each entry's `ipv6` address (only when the host has IPv6). Default false. */
  ipv6?: boolean;
}

export interface ReflectorServerPlan {
  readonly servers: readonly ReflectorServer[];
  readonly skipped: readonly ReflectorSkip[];
}

/** tgcalls stores the id in a `uint8_t`; 0 means "no id" (reflector.md §1). */
export const MAX_REFLECTOR_SERVER_ID = 255;

/**
 * Servers in entry order, IPv4 before IPv6 of the same entry. Entries with a bad peer tag still
 * count for the ranking (the peer ranks every entry it was given) but yield no server; each
 * entry or address left out is reported in `skipped`.
 */
export function reflectorServers(
  connections: readonly ReflectorConnectionInput[],
  options: ReflectorServerOptions = {},
): ReflectorServerPlan {
  const ranked = [...new Set(connections.map((c) => c.id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(ranked.map((id, i) => [id, i + 1]));
  const servers: ReflectorServer[] = [];
  const skipped: ReflectorSkip[] = [];
  const seen = new Set<string>();

  for (const c of connections) {
    const serverId = rank.get(c.id)!;
    if (c.peerTag.length !== REFLECTOR_PEER_TAG_LENGTH) {
      skipped.push({ connectionId: c.id, reason: 'bad-peer-tag' });
      continue;
    }
    if (serverId > MAX_REFLECTOR_SERVER_ID) {
      skipped.push({ connectionId: c.id, reason: 'server-id-overflow' });
      continue;
    }
    const port = c.port === 0 ? REFLECTOR_DEFAULT_PORT : c.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      skipped.push({ connectionId: c.id, reason: 'bad-port' });
      continue;
    }
    const candidates: Array<{ address: string; family: 4 | 6 }> = [];
    if (isIP(c.ip) === 4) candidates.push({ address: c.ip, family: 4 });
    if (options.ipv6 && isIP(c.ipv6) === 6) candidates.push({ address: c.ipv6.toLowerCase(), family: 6 });
    if (candidates.length === 0) {
      skipped.push({ connectionId: c.id, reason: 'no-address' });
      continue;
    }
    for (const { address, family } of candidates) {
      const key = `${c.tcp ? 'tcp' : 'udp'}|${address}|${port}`;
      if (seen.has(key)) {
        skipped.push({ connectionId: c.id, reason: 'duplicate-endpoint', address });
        continue;
      }
      seen.add(key);
      servers.push({
        serverId,
        connectionId: c.id,
        endpoint: { address, port },
        family,
        tcp: c.tcp,
        peerTag: new Uint8Array(c.peerTag),
      });
    }
  }
  return { servers, skipped };
}
