/**
 * The network edge's loopback side: one UDP proxy socket on 127.0.0.1 per route, which libjuice
 * sees as a remote candidate and talks to (path-mux.ts checks that a datagram on a proxy comes from
 * libjuice). It is apart from network-edge.ts because these sockets face libjuice, not the
 * network: their life is a route's, and they bind and close on their own schedule.
 *
 * The proxies are not connect()ed to libjuice's endpoint: tried (it saves an address lookup per
 * datagram, nothing measurable in bench/call.ts), and with it ntgcalls 3.0.5 heard nothing from
 * tgcall for the first ~2 s of a call in test/interop/network-change.test.ts, both roles.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Endpoint } from './endpoint.js';
import { bindUdp, closeSocket } from './udp-bind.js';

export interface LoopbackProxyHandlers {
  /** A datagram that arrived on route `route`'s proxy from `from` (libjuice, once connected). */
  message(route: number, data: Buffer, from: RemoteInfo): void;
  /** Route `route`'s proxy is bound on loopback `port`. */
  bound(route: number, port: number): void;
}

export class LoopbackProxies {
  private readonly proxies = new Map<number, Socket>();
  private readonly binding = new Set<Promise<void>>();
  private engine: Endpoint | undefined;
  private closed = false;

  /** `guard` runs a socket callback so nothing thrown reaches the event loop (the edge's). */
  constructor(
    private readonly log: Logger,
    private readonly guard: (fn: () => void) => void,
    private readonly handlers: LoopbackProxyHandlers,
  ) {}

  /** libjuice's loopback host candidate: where every proxy sends. */
  setEngine(endpoint: Endpoint): void {
    this.engine = endpoint;
  }

  /** Binds route `id`'s proxy; `bound` follows once it has a port. */
  open(id: number): void {
    if (this.closed) return;
    const bound = bindUdp(4, '127.0.0.1').then(
      (socket): Promise<void> | void => {
        if (this.closed) return closeSocket(socket);
        this.proxies.set(id, socket);
        socket.on('message', (msg, rinfo) => this.guard(() => this.handlers.message(id, msg, rinfo)));
        socket.on('error', (err) => this.guard(() => this.log.debug('proxy socket error', { route: id, error: err.message })));
        this.guard(() => this.handlers.bound(id, socket.address().port));
      },
      (err: unknown) => this.guard(() => this.log.warn('cannot open a loopback proxy', { route: id, error: toError(err).message })),
    );
    // close() waits for binds in flight: their sockets close as soon as they exist.
    const tracked = bound.then(() => void this.binding.delete(tracked));
    this.binding.add(tracked);
  }

  /** A datagram for libjuice from route `id`'s proxy; dropped while the proxy or libjuice's endpoint is unknown. */
  send(id: number, data: Uint8Array, onSent: (err: Error | null) => void): void {
    const proxy = this.proxies.get(id);
    const engine = this.engine;
    if (!proxy || !engine) return;
    proxy.send(data, engine.port, engine.address, onSent);
  }

  /** Closes every proxy; the promises resolve when each is closed, binds in flight included. Idempotent. */
  close(): Promise<void>[] {
    this.closed = true;
    const done: Promise<void>[] = [...this.binding];
    for (const proxy of this.proxies.values()) done.push(closeSocket(proxy));
    this.proxies.clear();
    return done;
  }
}
