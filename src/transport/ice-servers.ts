/**
 * ICE servers from the call's `phoneConnectionWebrtc` entries (transport-v2.md §6,
 * transport-v2-sources.md §5.1): for each of `ip` and `ipv6` that is set, a STUN server when
 * `stun`, a TURN server (UDP, with the entry's username/password) when `turn`.
 *
 * Servers are handed to node-datachannel as objects, not URLs: libdatachannel's URL parser rejects
 * the IPv6 bracket form (`stun:[2001:db8::1]:3478` fails with "Invalid ICE server port", checked
 * with node-datachannel 0.33.4) and would need credentials percent-encoded.
 *
 * libdatachannel (libjuice backend) shuffles the list and then uses one STUN server and at most
 * two TURN servers (`MAX_TURN_SERVERS_COUNT`, src/impl/icetransport.cpp): on a host without IPv6,
 * pass `ipv6: false` so that both picks are reachable.
 */
import { isIP } from 'node:net';
import type { IceServer } from 'node-datachannel';
import type { WebrtcServerInput } from '../network/server-plan.js';

/** The fields of a `phoneConnectionWebrtc` entry this module uses (declared once, in the network edge's server plan). */
export type WebrtcConnection = WebrtcServerInput;

export interface IceServerOptions {
  /** p2p not allowed: STUN is useless then (no server-reflexive candidates), keep TURN only. */
  readonly relayOnly?: boolean;
  /** Use the entries' `ipv6` addresses too. Default true. */
  readonly ipv6?: boolean;
}

/** Converts connection entries into node-datachannel ICE servers; entries that cannot work are skipped. */
export function iceServersFromConnections(
  connections: readonly WebrtcConnection[],
  options: IceServerOptions = {},
): IceServer[] {
  const servers: IceServer[] = [];
  const seen = new Set<string>();
  const add = (server: IceServer): void => {
    const key = JSON.stringify([server.hostname, server.port, server.username ?? null, server.password ?? null, server.relayType ?? null]);
    if (seen.has(key)) return;
    seen.add(key);
    servers.push(server);
  };
  for (const c of connections) {
    if (!Number.isInteger(c.port) || c.port <= 0 || c.port > 65535) continue;
    const candidates = options.ipv6 === false ? [c.ip] : [c.ip, c.ipv6];
    const hosts = candidates.filter((h): h is string => typeof h === 'string' && isIP(h) !== 0);
    for (const hostname of hosts) {
      if (c.turn && typeof c.username === 'string' && typeof c.password === 'string') {
        // Official clients use TURN over UDP only (ntgcalls rtc_server.cpp skips TCP entries).
        add({ hostname, port: c.port, username: c.username, password: c.password, relayType: 'TurnUdp' });
      }
      if (c.stun && !options.relayOnly) add({ hostname, port: c.port });
    }
  }
  return servers;
}
