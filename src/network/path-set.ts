/**
 * Our side of every route (sans-I/O): the direct sockets' paths (direct-path.ts) and the relays
 * (TURN allocations, Telegram reflectors; relay-path.ts), started, fed, ticked and closed
 * together. Their wire bytes become `net` outputs, their readiness and failures `relay-*` events;
 * what the peer sent and the candidates they learn go to the path mux (`PathSetSink`), which
 * decides about routes and libjuice. It is apart from path-mux.ts because it knows sockets and
 * relay protocols, not routes: the mux's rules never look inside a path.
 */
import { DirectPath, type DirectStep } from './direct-path.js';
import type { Endpoint } from './endpoint.js';
import type { IceCandidate } from './ice-candidate.js';
import type { MuxOutput, PathMuxOptions } from './path-mux-types.js';
import type { RelayPath, RelayPeer, RelayStep } from './relay-path.js';
import type { Route, RouteKind } from './route-table.js';

export interface PathSetSink {
  /** A datagram from the peer's side of path `path` (a direct socket, or a relay's peer). */
  fromPeer(path: string, kind: RouteKind, peer: RelayPeer, data: Uint8Array, now: number, out: MuxOutput[]): void;
  /** One of our candidates a path names or learned (host, server-reflexive, relayed). */
  localCandidate(candidate: IceCandidate, out: MuxOutput[]): void;
}

export class PathSet {
  /** By socket id: `direct4`, `direct6` (only when p2p is allowed). */
  readonly direct = new Map<string, DirectPath>();
  /** By socket id: `relay<i>`, i the relay's index in the options. */
  readonly relays = new Map<string, RelayPath>();
  private readonly standaloneReflectors: boolean;
  private readonly sink: PathSetSink;

  constructor(options: PathMuxOptions, sink: PathSetSink) {
    this.sink = sink;
    this.standaloneReflectors = options.standaloneReflectors ?? false;
    if (options.allowDirect) {
      for (const config of options.direct) {
        const path = new DirectPath(config);
        this.direct.set(path.id, path);
      }
    }
    options.relays.forEach((relay, i) => this.relays.set(`relay${i}`, relay));
  }

  /** Starts the relays and names our host candidates. */
  start(now: number, out: MuxOutput[]): void {
    for (const path of this.direct.values()) {
      for (const candidate of path.hostCandidates()) this.sink.localCandidate(candidate, out);
      this.onDirectStep(path, path.start(now), out);
    }
    for (const [id, relay] of this.relays) this.onRelayStep(id, relay, relay.start(now), now, out);
  }

  /** A datagram that arrived on network socket `socket` from `from`; false when no path owns that socket. */
  receive(socket: string, data: Uint8Array, from: Endpoint, now: number, out: MuxOutput[]): boolean {
    const direct = this.direct.get(socket);
    if (direct) {
      const stun = direct.receive(data, from, now);
      if (stun) {
        this.onDirectStep(direct, stun, out);
        return true;
      }
      this.sink.fromPeer(socket, 'direct', from, data, now, out);
      return true;
    }
    const relay = this.relays.get(socket);
    if (!relay) return false;
    this.onRelayStep(socket, relay, relay.receive(data, from, now), now, out);
    return true;
  }

  /** A step relay `id` produced outside `receive`/`tick` (its TCP stream connected or closed). */
  relayStep(id: string, step: RelayStep, now: number, out: MuxOutput[]): void {
    const relay = this.relays.get(id);
    if (relay) this.onRelayStep(id, relay, step, now, out);
  }

  /** Our host's addresses of one family now: the direct path names the new ones. */
  hostAddresses(family: 4 | 6, addresses: readonly string[], out: MuxOutput[]): void {
    const path = this.direct.get(`direct${family}`);
    if (path) for (const candidate of path.addressesNow(addresses)) this.sink.localCandidate(candidate, out);
  }

  /** Sends `data` to the peer over `route`'s path: from its direct socket, or wrapped by its relay. */
  send(route: Route, data: Uint8Array, now: number, out: MuxOutput[]): void {
    if (route.kind === 'direct') {
      out.push({ kind: 'net', socket: route.path, to: route.peer as Endpoint, data });
      return;
    }
    const relay = this.relays.get(route.path);
    if (relay) this.onRelayStep(route.path, relay, relay.send(route.peer, data, now), now, out);
  }

  tick(now: number, out: MuxOutput[]): void {
    for (const [id, relay] of this.relays) {
      const deadline = relay.nextDeadline();
      if (deadline !== undefined && deadline <= now) this.onRelayStep(id, relay, relay.tick(now), now, out);
    }
    for (const path of this.direct.values()) this.onDirectStep(path, path.tick(now), out);
  }

  /** The earliest of `next` and every path's deadline. */
  nextDeadline(next: number | undefined): number | undefined {
    for (const relay of this.relays.values()) next = earlier(next, relay.nextDeadline());
    for (const path of this.direct.values()) next = earlier(next, path.nextDeadline());
    return next;
  }

  /** Ends every relay (goodbye datagrams come out) and every direct path. */
  close(now: number, out: MuxOutput[]): void {
    for (const [id, relay] of this.relays) this.emitWire(id, relay.close(now).wire, out);
    for (const path of this.direct.values()) path.close(now);
  }

  private onRelayStep(id: string, relay: RelayPath, step: RelayStep, now: number, out: MuxOutput[]): void {
    this.emitWire(id, step.wire, out);
    for (const event of step.events) {
      switch (event.kind) {
        case 'data':
          this.sink.fromPeer(id, relay.kind, event.peer, event.payload, now, out);
          break;
        case 'ready':
          out.push({ kind: 'event', event: { type: 'relay-ready', path: id, server: relay.server } });
          if (event.candidate && !(relay.kind === 'reflector' && this.standaloneReflectors)) this.sink.localCandidate(event.candidate, out);
          break;
        case 'failed':
          out.push({ kind: 'event', event: { type: 'relay-failed', path: id, server: relay.server, reason: event.reason } });
          break;
      }
    }
  }

  private onDirectStep(path: DirectPath, step: DirectStep, out: MuxOutput[]): void {
    this.emitWire(path.id, step.wire, out);
    for (const candidate of step.candidates) this.sink.localCandidate(candidate, out);
  }

  private emitWire(socket: string, wire: RelayStep['wire'], out: MuxOutput[]): void {
    for (const w of wire) out.push({ kind: 'net', socket, to: w.to, data: w.data });
  }
}

export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  return b === undefined || (a !== undefined && a <= b) ? a : b;
}
