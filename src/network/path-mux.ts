/**
 * The network edge's core (sans-I/O): every datagram between libjuice and the network passes
 * through it. libjuice runs ICE, DTLS-SRTP and SCTP on loopback only; each way to reach the
 * peer is a route (route-table.ts) with its own loopback proxy that libjuice sees as a remote
 * candidate. On the network side there are our direct sockets and the relays (TURN
 * allocations, Telegram reflectors; relay-path.ts), stepped together by path-set.ts. Datagrams
 * and `now` go in; datagrams to send, proxies to open, candidates and events come out. Sockets
 * and timers live in the adapter (network-edge.ts); the candidates signalled both ways are
 * checked and kept by candidate-exchange.ts.
 *
 * Rules it enforces:
 * - nothing from an unknown source reaches libjuice, except an ICE check that verifies with our
 *   ICE password (a forged check never creates or moves a route);
 * - a peer that changed networks is followed: a verified check from a new address on the path
 *   libjuice is using, while that route has been silent, moves the route (network-change.md
 *   rule 7; libjuice itself ignores new candidates once it has nominated a pair);
 * - the peer's checks through a reflector carry a zero ICE tie-breaker that libjuice rejects;
 *   they are re-signed (reflector-shim.md §3);
 * - libjuice's answers report the loopback proxy as the peer's mapped address; they are
 *   rewritten to the peer's real address on direct and TURN routes;
 * - the DTLS handshake is repaired as dtls-assist.ts says;
 * - p2p not allowed: no direct route and no host candidate, only relays.
 */
import { CandidateExchange } from './candidate-exchange.js';
import { DtlsAssist } from './dtls-assist.js';
import { endpointKey, formatEndpoint, sameEndpoint, type Endpoint } from './endpoint.js';
import { verifyIceRequest, fixZeroTiebreaker, rewriteMappedAddress } from './ice-check.js';
import {
  candidatePriority,
  classifyAddress,
  formatIceCandidate,
  TYPE_PREFERENCE,
  type CandidateType,
  type IceCandidate,
} from './ice-candidate.js';
import type { MuxOutput, PathInfo, PathMuxOptions } from './path-mux-types.js';
import { earlier, PathSet } from './path-set.js';
import { PeerReach } from './peer-reach.js';
import type { RelayPath, RelayPeer, RelayStep } from './relay-path.js';
import { MAX_PENDING_PER_ROUTE, peerKey, RouteTable, type Route, type RouteKind } from './route-table.js';
import { isStunOfType, isStunPacket, StunMethod } from './stun.js';

export type { DirectPathConfig, MuxEvent, MuxOutput, PathInfo, PathMuxOptions } from './path-mux-types.js';

/** Local type preferences of our side of a route (reflector ports: tgcalls' 58655488 ≈ 3 << 24). */
const LOCAL_TYPE_PREFERENCE: Readonly<Record<RouteKind, number>> = { direct: TYPE_PREFERENCE.host, turn: TYPE_PREFERENCE.relay, reflector: 3 };
/** A route counts as libjuice's choice while it sent media on it this recently. */
const ACTIVE_WITHIN_MS = 5_000;

export class PathMux {
  readonly routes = new RouteTable();
  private readonly options: PathMuxOptions;
  private readonly paths: PathSet;
  private readonly dtls: DtlsAssist<number>;
  private readonly moveAfterSilenceMs: number;
  private readonly candidates: CandidateExchange;
  private credentials: { readonly ufrag: string; readonly pwd: string } | undefined;
  private engine: Endpoint | undefined;
  private engineReady = false;
  private closed = false;
  private readonly silenceMs: number;
  /** Set by `connected()`: from then on the peer's silence is watched. */
  private watching = false;
  private lastHeard = Number.NEGATIVE_INFINITY;
  private silent = false;
  readonly drops: Record<string, number> = {};
  /** The peer's candidates no path of ours reaches (peer-reach.ts). */
  readonly reach = new PeerReach();
  moves = 0;

  constructor(options: PathMuxOptions) {
    this.options = options;
    this.moveAfterSilenceMs = options.moveAfterSilenceMs ?? 1_000;
    this.silenceMs = options.silenceMs ?? 6_000;
    this.dtls = new DtlsAssist<number>(options.dtls);
    this.paths = new PathSet(options, {
      fromPeer: (path, kind, peer, data, now, out) => this.fromPeer(path, kind, peer, data, now, out),
      localCandidate: (candidate, out) => this.candidates.addLocal(candidate, out),
    });
    this.candidates = new CandidateExchange(options.allowLoopbackPeers ?? false, this.paths.relays, (reason) => this.drop(reason));
  }

  /** Starts the relays and prepares our host candidates (signalled once credentials are known). */
  start(now: number): MuxOutput[] {
    const out: MuxOutput[] = [];
    this.paths.start(now, out);
    return out;
  }

  /** Our ICE ufrag/pwd (from libjuice's local description): our candidates can go out. */
  setLocalCredentials(ufrag: string, pwd: string): MuxOutput[] {
    this.credentials = { ufrag, pwd };
    return this.candidates.setUfrag(ufrag);
  }

  /** libjuice's loopback address (its host candidate): proxies can deliver to it. */
  setEngineEndpoint(endpoint: Endpoint): MuxOutput[] {
    this.engine = endpoint;
    const out: MuxOutput[] = [];
    for (const route of this.routes.all()) this.flush(route, out);
    return out;
  }

  /** libjuice has the remote description: it may receive datagrams and remote candidates. */
  remoteDescriptionApplied(): MuxOutput[] {
    this.engineReady = true;
    const out: MuxOutput[] = [];
    if (this.options.standaloneReflectors) {
      // reflector.md §7: the peer's port is 2 for the caller's peer, 1 for the callee's.
      const peerId = this.options.isOutgoing ? 2 : 1;
      for (const [id, relay] of this.paths.relays) if (relay.kind === 'reflector') this.addRoute(id, 'reflector', peerId, 'fabricated', LOCAL_TYPE_PREFERENCE.reflector << 24, 'relay', out);
    }
    for (const route of this.routes.all()) this.announce(route, out);
    return out;
  }

  /** The adapter bound route `id`'s proxy socket on loopback `port`. */
  proxyBound(id: number, port: number): MuxOutput[] {
    const route = this.routes.byRouteId(id);
    const out: MuxOutput[] = [];
    if (!route || this.closed) return out;
    this.routes.bound(route, port);
    this.announce(route, out);
    this.flush(route, out);
    return out;
  }

  /** A candidate the peer signalled (`candidate:…`). */
  addRemoteCandidate(line: string): MuxOutput[] {
    const out: MuxOutput[] = [];
    const candidate = this.candidates.admitRemote(line, out);
    if (!candidate) return out;
    this.reach.note(candidate, this.routesFor(candidate, out));
    return out;
  }

  /** A datagram libjuice sent from its loopback socket `from` to route `id`'s proxy. */
  fromEngine(id: number, data: Uint8Array, from: Endpoint, now: number): MuxOutput[] {
    const route = this.routes.byRouteId(id);
    if (this.closed || !route || !this.engine || !sameEndpoint(from, this.engine)) {
      this.drop('engine-unknown');
      return [];
    }
    route.lastOut = now;
    route.packetsOut++;
    route.bytesOut += data.length;
    let payload = data;
    if (!isStunPacket(data)) route.lastMediaOut = now;
    else if (route.kind !== 'reflector' && this.credentials && typeof route.peer !== 'number') {
      payload = rewriteMappedAddress(data, route.peer, this.credentials.pwd) ?? data;
    }
    // A binding request from libjuice: an ICE check, copied until we are connected (dtls-assist.ts).
    if (isStunOfType(payload, StunMethod.BINDING, 'request')) this.dtls.outboundCheck(route.id, payload, now);
    else this.dtls.outbound(route.id, payload, now);
    const out: MuxOutput[] = [];
    this.paths.send(route, payload, now, out);
    return out;
  }

  /** A datagram that arrived on network socket `socket` from `from`. */
  fromNetwork(socket: string, data: Uint8Array, from: Endpoint, now: number): MuxOutput[] {
    const out: MuxOutput[] = [];
    if (this.closed) return out;
    if (!this.paths.receive(socket, data, from, now, out)) this.drop('socket-unknown');
    return out;
  }

  /** A step a relay produced outside `receive`/`tick` (its TCP stream connected or closed). */
  relayStep(id: string, step: RelayStep, now: number): MuxOutput[] {
    const out: MuxOutput[] = [];
    if (!this.closed) this.paths.relayStep(id, step, now, out);
    return out;
  }

  /**
   * Our host's addresses of one family now (the adapter looks every few seconds): new ones are
   * signalled as host candidates with the direct socket's port, as libwebrtc re-gathers and
   * signals after a network change (network-change.md (1)).
   */
  hostAddresses(family: 4 | 6, addresses: readonly string[]): MuxOutput[] {
    const out: MuxOutput[] = [];
    if (!this.closed) this.paths.hostAddresses(family, addresses, out);
    return out;
  }

  /** Media flows: our DTLS handshake is over (the peer's may not be, dtls-assist.ts), and the peer's silence is watched from now. */
  connected(now: number): void {
    this.dtls.finish();
    this.watching = true;
    this.lastHeard = Math.max(this.lastHeard, now);
  }

  tick(now: number): MuxOutput[] {
    const out: MuxOutput[] = [];
    if (this.closed) return out;
    this.paths.tick(now, out);
    if (this.watching && !this.silent && now >= this.lastHeard + this.silenceMs) {
      this.silent = true;
      out.push({ kind: 'event', event: { type: 'peer-silent', silentForMs: Math.round(now - this.lastHeard) } });
    }
    const repaired = this.dtls.tick(now);
    for (const { route: id, data } of repaired.toEngine) {
      const route = this.routes.byRouteId(id);
      if (route?.proxyPort !== undefined && this.engine) out.push({ kind: 'engine', route: id, data });
    }
    for (const { route: id, data } of repaired.toPeer) {
      const route = this.routes.byRouteId(id);
      if (route) this.paths.send(route, data, now, out);
    }
    return out;
  }

  nextDeadline(): number | undefined {
    if (this.closed) return undefined;
    let next = this.dtls.nextDeadline();
    if (this.watching && !this.silent) next = earlier(next, this.lastHeard + this.silenceMs);
    return this.paths.nextDeadline(next);
  }


  /** Ends every relay (goodbye datagrams come out) and forgets every route. Idempotent. */
  close(now: number): MuxOutput[] {
    const out: MuxOutput[] = [];
    if (this.closed) return out;
    this.paths.close(now, out);
    this.closed = true;
    this.dtls.close();
    this.routes.clear();
    return out;
  }

  /** The route behind libjuice's remote candidate `127.0.0.1:<port>`, described. */
  pathInfo(proxyPort: number): PathInfo | undefined {
    const route = this.routes.byProxyPort(proxyPort);
    if (!route) return undefined;
    const relay = this.paths.relays.get(route.path);
    const server = relay ? formatEndpoint(relay.server) : undefined;
    const kind = route.kind === 'reflector' ? 'reflector' : route.kind === 'turn' || route.remoteType === 'relay' ? 'turn' : route.remoteType === 'srflx' ? 'srflx' : 'host';
    return { kind, local: route.path, remote: describePeer(route.peer), remoteType: route.remoteType, ...(server ? { server } : {}) };
  }

  relayPaths(): ReadonlyMap<string, RelayPath> {
    return this.paths.relays;
  }

  dtlsRepairs(): { readonly replayed: number; readonly duplicated: number; readonly flightsResent: number; readonly flightTimeouts: number } {
    const { replayed, duplicated, flightsResent, flightTimeouts } = this.dtls;
    return { replayed, duplicated, flightsResent, flightTimeouts };
  }

  // ---------------------------------------------------------------------------------------------

  private toEngine(route: Route, data: Uint8Array, now: number, out: MuxOutput[]): void {
    if (!this.engineReady) {
      // libjuice cannot take checks before its remote description (libdatachannel race): the
      // peer retransmits.
      this.drop('early');
      return;
    }
    route.lastIn = now;
    this.lastHeard = now;
    if (this.silent) {
      this.silent = false;
      out.push({ kind: 'event', event: { type: 'peer-back' } });
    }
    route.packetsIn++;
    route.bytesIn += data.length;
    let payload = data;
    if (route.kind === 'reflector' && this.credentials && isStunPacket(data)) {
      payload = fixZeroTiebreaker(data, this.credentials.pwd, this.options.tiebreaker) ?? data;
    }
    // A binding success: the peer answered libjuice's check (dtls-assist.ts).
    if (isStunOfType(payload, StunMethod.BINDING, 'success')) this.dtls.iceCheckAnswered(now);
    // The peer repeating its flight: ours was lost, and OpenSSL would wait for its 1 s timer.
    for (const again of this.dtls.inbound(route.id, payload, now)) {
      const r = this.routes.byRouteId(again.route);
      if (r) this.paths.send(r, again.data, now, out);
    }
    if (route.proxyPort !== undefined && this.engine) {
      out.push({ kind: 'engine', route: route.id, data: payload });
    } else if (route.pending.length < MAX_PENDING_PER_ROUTE) {
      route.pending.push(payload);
    } else {
      this.drop('pending-overflow');
    }
  }

  /** A datagram from the peer's side of `path`: to its route, or to the route it moves. */
  private fromPeer(path: string, kind: RouteKind, peer: RelayPeer, data: Uint8Array, now: number, out: MuxOutput[]): void {
    const route = this.routes.get(path, peerKey(peer));
    if (!route) return this.fromUnknown(path, kind, peer, data, now, out);
    // The peer's new address may have a route already — a candidate it signalled after its change
    // (ntgcalls re-gathers and signals at once, network-change.md p1), or a check that came before
    // the old route had been silent long enough. libjuice will not switch to it once it has
    // nominated a pair (network-change.md rule 7), so the route libjuice uses moves there, as for
    // an address never seen. Only STUN on a route libjuice does not send media on gets this look.
    if (route.lastMediaOut < now - ACTIVE_WITHIN_MS && isStunPacket(data) && this.moveTo(path, peer, data, now, out)) return;
    this.toEngine(route, data, now, out);
  }

  /** Moves libjuice's route on `path` to `peer` when it has been silent and `data` is a verified check; true when it did. */
  private moveTo(path: string, peer: RelayPeer, data: Uint8Array, now: number, out: MuxOutput[]): boolean {
    const active = this.routes.active(now, ACTIVE_WITHIN_MS, path);
    if (!active || now - active.lastIn < this.moveAfterSilenceMs || !this.credentials) return false;
    if (!verifyIceRequest(data, this.credentials.ufrag, this.credentials.pwd).ok) return false;
    const before = describePeer(active.peer);
    this.routes.repoint(active, peer);
    this.moves++;
    out.push({ kind: 'event', event: { type: 'peer-moved', path, from: before, to: describePeer(peer) } });
    this.toEngine(active, data, now, out);
    return true;
  }

  /** A datagram from a peer address (or reflector port) with no route yet. */
  private fromUnknown(path: string, kind: RouteKind, peer: RelayPeer, data: Uint8Array, now: number, out: MuxOutput[]): void {
    if (!this.engineReady || !this.credentials) return this.drop('early');
    if (!isStunPacket(data)) return this.drop('unknown-source');
    const check = verifyIceRequest(data, this.credentials.ufrag, this.credentials.pwd);
    if (!check.ok) return this.drop('unverified-check');
    if (this.moveTo(path, peer, data, now, out)) return;
    const typePreference = check.priority !== undefined ? check.priority >>> 24 : TYPE_PREFERENCE.prflx;
    const route = this.addRoute(path, kind, peer, 'learned', Math.min(typePreference, LOCAL_TYPE_PREFERENCE[kind]) << 24, 'prflx', out);
    if (route) this.toEngine(route, data, now, out);
  }

  /** Routes to `candidate` (made now or earlier), one per path that reaches it; how many. */
  private routesFor(candidate: IceCandidate, out: MuxOutput[]): number {
    const remotePreference = candidate.priority >>> 24;
    const localPreference = (candidate.priority >>> 8) & 0xffff;
    const priorityFor = (kind: RouteKind): number =>
      candidatePriority(Math.min(remotePreference, LOCAL_TYPE_PREFERENCE[kind]), localPreference);
    let routes = 0;
    // Relays first: the caps must never crowd them out (issue 12 item 5).
    for (const [id, relay] of this.paths.relays) {
      if (relay.kind === 'reflector' && this.options.standaloneReflectors) continue;
      const peer = relay.peerFor(candidate);
      if (peer !== undefined && this.addRoute(id, relay.kind, peer, 'signalled', priorityFor(relay.kind), candidate.type, out)) routes++;
    }
    if (classifyAddress(candidate.address) === 'hostname') return routes;
    const family = candidate.address.includes(':') ? 6 : 4;
    const direct = this.paths.direct.get(`direct${family}`);
    if (direct && this.addRoute(`direct${family}`, 'direct', { address: candidate.address, port: candidate.port }, 'signalled', priorityFor('direct'), candidate.type, out)) routes++;
    return routes;
  }

  private addRoute(path: string, kind: RouteKind, peer: RelayPeer, origin: Route['origin'], priority: number, remoteType: CandidateType, out: MuxOutput[]): Route | undefined {
    const key = typeof peer === 'number' ? peer : endpointKey(peer);
    const existing = this.routes.get(path, key);
    if (existing) return existing;
    const route = this.routes.add(path, kind, peer, origin, priority, remoteType);
    if (!route) {
      this.drop(`route-cap-${kind}`);
      return undefined;
    }
    out.push({ kind: 'open-proxy', route: route.id });
    return route;
  }

  /** Gives a bound proxy to libjuice (once it has its remote description); learned routes it finds itself. */
  private announce(route: Route, out: MuxOutput[]): void {
    if (route.announced || route.origin === 'learned' || route.proxyPort === undefined || !this.engineReady) return;
    route.announced = true;
    out.push({
      kind: 'engine-candidate',
      line: formatIceCandidate({
        foundation: String(route.id),
        component: 1,
        transport: 'udp',
        priority: route.priority,
        address: '127.0.0.1',
        port: route.proxyPort,
        type: 'host',
      }),
    });
  }

  private flush(route: Route, out: MuxOutput[]): void {
    if (route.proxyPort === undefined || !this.engine || route.pending.length === 0) return;
    for (const data of route.pending) out.push({ kind: 'engine', route: route.id, data });
    route.pending = [];
  }

  private drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}

function describePeer(peer: RelayPeer): string {
  return typeof peer === 'number' ? `reflector port ${peer}` : formatEndpoint(peer);
}
