/**
 * The network edge's sockets that face the network, bound before a call's edge exists: the
 * direct UDP sockets (wildcard or `bindAddress`, one per family), one UDP socket per UDP relay,
 * and the relays of the server plan with their host names resolved. It is apart from
 * network-edge.ts because it runs once, before any state machine: its only job is to turn a plan
 * into bound sockets, or into a typed `TransportError` with no socket left open.
 */
import type { Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { TransportError, toError } from '../errors.js';
import type { DirectPathConfig } from './direct-path.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';
import { hostAddresses } from './host-addresses.js';
import type { NetworkEdgeOptions } from './network-edge.js';
import { ReflectorPath } from './reflector-path.js';
import type { RelayPath } from './relay-path.js';
import { TurnPath } from './turn-path.js';
import { bindUdp } from './udp-bind.js';

/** What `openEdgeSockets` binds: sockets by id (`direct4`, `direct6`, `relay<i>`), the direct paths' configs, the relays kept. */
export interface EdgeSockets {
  readonly sockets: Map<string, Socket>;
  readonly direct: DirectPathConfig[];
  readonly relays: RelayPath[];
}

/** A user-supplied server name that does not resolve in time is left out. */
const RESOLVE_TIMEOUT_MS = 3_000;

/** Binds the direct and relay sockets; rejects with a typed `TransportError` (no socket left open). */
export async function openEdgeSockets(options: NetworkEdgeOptions): Promise<EdgeSockets> {
  const sockets = new Map<string, Socket>();
  const direct: DirectPathConfig[] = [];
  let relays: RelayPath[] = [];
  try {
    const interfaces = options.interfaces ?? networkInterfaces();
    const hosts = hostAddresses(interfaces);
    relays = await relaysOf(options);
    const stun: Endpoint[] = [];
    for (const s of options.servers.stun) {
      const address = await resolveHost(s.host);
      if (address) stun.push({ address, port: s.port });
    }
    const stunFor = (family: 4 | 6): Endpoint[] => stun.filter((e) => e.address.includes(':') === (family === 6));
    if (options.allowDirect) {
      if (options.bindAddress !== undefined) {
        const family = options.bindAddress.includes(':') ? 6 : 4;
        const socket = await bindUdp(family, options.bindAddress, options.portRange);
        sockets.set(`direct${family}`, socket);
        direct.push({ family, localPort: socket.address().port, hostAddresses: [options.bindAddress], stunServers: stunFor(family) });
      } else {
        // The wildcard address: an address change of ours keeps the socket working (network-change.md rule 1).
        const v4 = await bindUdp(4, '0.0.0.0', options.portRange);
        sockets.set('direct4', v4);
        direct.push({ family: 4, localPort: v4.address().port, hostAddresses: hosts.ipv4, stunServers: stunFor(4) });
        if (hosts.ipv6.length > 0) {
          const v6 = await bindUdp(6, '::', options.portRange);
          sockets.set('direct6', v6);
          direct.push({ family: 6, localPort: v6.address().port, hostAddresses: hosts.ipv6, stunServers: stunFor(6) });
        }
      }
    }
    relays = await bindRelays(relays, sockets, options, direct.length > 0);
  } catch (err) {
    for (const socket of sockets.values()) closeQuietly(socket);
    throw err instanceof TransportError ? err : new TransportError('BIND_FAILED', toError(err).message, { cause: err });
  }
  return { sockets, direct, relays };
}

async function resolveHost(host: string): Promise<string | undefined> {
  if (isIP(host)) return host;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), RESOLVE_TIMEOUT_MS)));
    const found = await Promise.race([lookup(host).then((r) => r.address), timeout]);
    return found;
  } catch {
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The relays of a plan: every reflector, then the TURN allocations (hostnames resolved). */
async function relaysOf(options: NetworkEdgeOptions): Promise<RelayPath[]> {
  const relays: RelayPath[] = options.servers.reflectors.map(
    (r) =>
      new ReflectorPath({
        server: r.endpoint,
        serverId: r.serverId,
        peerTag: r.peerTag,
        transport: r.tcp ? 'tcp' : 'udp',
        ...(options.standaloneReflectors ? { standaloneRole: options.isOutgoing ? ('caller' as const) : ('callee' as const) } : {}),
      }),
  );
  for (const [rank, t] of options.servers.turn.entries()) {
    const address = await resolveHost(t.host);
    if (address) relays.push(new TurnPath({ server: { address, port: t.port }, username: t.username, password: t.password }, rank));
  }
  return relays;
}

/**
 * One UDP socket per UDP relay (`relay<i>`, i its index in the list returned). With a `portRange`
 * too small for all of them, the relays that get no port are left out and the call goes on with
 * the paths it has; only when no path at all is left does the call fail with PORT_RANGE_EXHAUSTED.
 */
async function bindRelays(relays: RelayPath[], sockets: Map<string, Socket>, options: NetworkEdgeOptions, haveDirect: boolean): Promise<RelayPath[]> {
  const kept: RelayPath[] = [];
  let exhausted: unknown;
  for (const relay of relays) {
    if (relay.transport === 'udp') {
      const family = relay.server.address.includes(':') ? 6 : 4;
      const local = options.bindAddress !== undefined && (options.bindAddress.includes(':') ? 6 : 4) === family ? options.bindAddress : family === 4 ? '0.0.0.0' : '::';
      try {
        sockets.set(`relay${kept.length}`, await bindUdp(family, local, options.portRange));
      } catch (err) {
        if (!(err instanceof TransportError) || err.code !== 'PORT_RANGE_EXHAUSTED') throw err;
        exhausted = err;
        options.logger.warn('relay left out: no free port in the port range', { server: formatEndpoint(relay.server) });
        continue;
      }
    }
    kept.push(relay);
  }
  if (exhausted !== undefined && kept.length === 0 && !haveDirect) throw exhausted;
  return kept;
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
