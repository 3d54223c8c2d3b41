/**
 * The routes of the network edge. A route is one way to reach the peer — a local path (our
 * direct socket, a TURN allocation, a reflector port) and the peer's address on it (an IP
 * endpoint, or a reflector port id) — and it owns one loopback proxy socket that libjuice sees
 * as a remote candidate. libjuice's ICE then chooses among routes exactly as it would among
 * candidates, while every byte still crosses a socket tgcall owns.
 *
 * libjuice keeps at most 30 remote candidates (`ICE_MAX_CANDIDATES_COUNT`), learned
 * peer-reflexive ones included, so routes are capped per kind: relays and reflectors are never
 * crowded out by host candidates, and IPv4 direct routes not by IPv6 ones (issue 12 item 5).
 */
import { endpointKey, type Endpoint } from './endpoint.js';
import type { CandidateType } from './ice-candidate.js';
import type { RelayPeer } from './relay-path.js';

export type RouteKind = 'direct' | 'turn' | 'reflector';

/** How a route came to exist: a candidate the peer signalled, a check that arrived, or made up (standalone reflectors). */
export type RouteOrigin = 'signalled' | 'learned' | 'fabricated';

export interface Route {
  /** Also the proxy socket's id. */
  readonly id: number;
  readonly path: string;
  readonly kind: RouteKind;
  peer: RelayPeer;
  key: string | number;
  readonly origin: RouteOrigin;
  readonly priority: number;
  /** The peer's candidate type on this route (`prflx` when learned from a check). */
  readonly remoteType: CandidateType;
  /** The proxy socket's loopback port once it is bound. */
  proxyPort: number | undefined;
  /** Given to libjuice as a remote candidate. */
  announced: boolean;
  /** Peer datagrams waiting for the proxy socket (bounded). */
  pending: Uint8Array[];
  lastIn: number;
  lastOut: number;
  /** Last non-STUN datagram libjuice sent here: the route it selected. */
  lastMediaOut: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export const ROUTE_CAPS: Readonly<Record<RouteKind, number>> = { reflector: 6, turn: 10, direct: 14 };
/** Of the direct routes, at most this many to IPv6 peers. */
export const MAX_IPV6_DIRECT_ROUTES = 6;
export const MAX_PENDING_PER_ROUTE = 8;

export function peerKey(peer: RelayPeer): string | number {
  return typeof peer === 'number' ? peer : endpointKey(peer);
}

export class RouteTable {
  private readonly byPath = new Map<string, Map<string | number, Route>>();
  private readonly byId = new Map<number, Route>();
  private readonly byPort = new Map<number, Route>();
  private readonly counts: Record<RouteKind, number> = { reflector: 0, turn: 0, direct: 0 };
  private ipv6Direct = 0;
  private nextId = 1;
  /** Routes refused by a cap. */
  refused = 0;

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<Route> {
    return this.byId.values();
  }

  get(path: string, key: string | number): Route | undefined {
    return this.byPath.get(path)?.get(key);
  }

  byRouteId(id: number): Route | undefined {
    return this.byId.get(id);
  }

  byProxyPort(port: number): Route | undefined {
    return this.byPort.get(port);
  }

  /** A new route, or undefined when its kind is at its cap. */
  add(path: string, kind: RouteKind, peer: RelayPeer, origin: RouteOrigin, priority: number, remoteType: CandidateType): Route | undefined {
    const ipv6 = kind === 'direct' && typeof peer !== 'number' && peer.address.includes(':');
    if (this.counts[kind] >= ROUTE_CAPS[kind] || (ipv6 && this.ipv6Direct >= MAX_IPV6_DIRECT_ROUTES)) {
      this.refused++;
      return undefined;
    }
    const key = peerKey(peer);
    const route: Route = {
      id: this.nextId++,
      path,
      kind,
      peer,
      key,
      origin,
      priority,
      remoteType,
      proxyPort: undefined,
      announced: false,
      pending: [],
      lastIn: Number.NEGATIVE_INFINITY,
      lastOut: Number.NEGATIVE_INFINITY,
      lastMediaOut: Number.NEGATIVE_INFINITY,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    let forPath = this.byPath.get(path);
    if (!forPath) this.byPath.set(path, (forPath = new Map()));
    forPath.set(key, route);
    this.byId.set(route.id, route);
    this.counts[kind]++;
    if (ipv6) this.ipv6Direct++;
    return route;
  }

  bound(route: Route, port: number): void {
    route.proxyPort = port;
    this.byPort.set(port, route);
  }

  /**
   * The peer moved: the same route (and proxy, so libjuice sees no change) now leads to `peer`.
   * A route `peer` already had keeps its proxy and still sends there, but the peer's datagrams
   * now arrive on the moved route.
   */
  repoint(route: Route, peer: RelayPeer): void {
    const forPath = this.byPath.get(route.path);
    forPath?.delete(route.key);
    route.peer = peer;
    route.key = peerKey(peer);
    const other = forPath?.get(route.key);
    if (other && other !== route) other.key = `detached ${other.id}`;
    forPath?.set(route.key, route);
  }

  /** The route libjuice sends its media on (most recent non-STUN datagram), if any lately. */
  active(now: number, withinMs: number, path?: string): Route | undefined {
    let best: Route | undefined;
    for (const route of this.byId.values()) {
      if (path !== undefined && route.path !== path) continue;
      if (now - route.lastMediaOut > withinMs) continue;
      if (!best || route.lastMediaOut > best.lastMediaOut) best = route;
    }
    return best;
  }

  clear(): Route[] {
    const routes = [...this.byId.values()];
    this.byPath.clear();
    this.byId.clear();
    this.byPort.clear();
    return routes;
  }
}
