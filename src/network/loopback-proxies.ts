/**
 * The network edge's loopback side: one UDP proxy socket on 127.0.0.1 per route, which libjuice
 * sees as a remote candidate and talks to. Each proxy is connect()ed to libjuice's endpoint once
 * both are known, so a datagram to libjuice is sent without an address and the kernel takes
 * datagrams on the proxy from libjuice only (path-mux.ts still checks the source). It is apart
 * from network-edge.ts because these sockets face libjuice, not the network: their life is a
 * route's, and they bind, connect and close on their own schedule.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sameEndpoint, type Endpoint } from './endpoint.js';
import { bindUdp, closeSocket } from './udp-bind.js';

export interface LoopbackProxyHandlers {
  /** A datagram that arrived on route `route`'s proxy from `from` (libjuice, once connected). */
  message(route: number, data: Buffer, from: RemoteInfo): void;
  /** Route `route`'s proxy is bound on loopback `port`. */
  bound(route: number, port: number): void;
}

export class LoopbackProxies {
  private readonly proxies = new Map<number, Socket>();
  /** Proxies connect()ed to libjuice's endpoint: a send names no address (no lookup, no address parse per datagram) and the kernel takes datagrams from libjuice only. */
  private readonly connectedProxies = new WeakSet<Socket>();
  private readonly binding = new Set<Promise<void>>();
  private engine: Endpoint | undefined;
  private closed = false;

  /** `guard` runs a socket callback so nothing thrown reaches the event loop (the edge's). */
  constructor(
    private readonly log: Logger,
    private readonly guard: (fn: () => void) => void,
    private readonly handlers: LoopbackProxyHandlers,
  ) {}

  /** libjuice's loopback host candidate: every proxy connects to it (again, if it changed). */
  setEngine(endpoint: Endpoint): void {
    const changed = this.engine !== undefined && !sameEndpoint(this.engine, endpoint);
    this.engine = endpoint;
    for (const proxy of this.proxies.values()) this.connectProxy(proxy, changed);
  }

  /** Binds route `id`'s proxy; `bound` follows once it has a port. */
  open(id: number): void {
    if (this.closed) return;
    const bound = bindUdp(4, '127.0.0.1').then(
      (socket): Promise<void> | void => {
        if (this.closed) return closeSocket(socket);
        this.proxies.set(id, socket);
        this.connectProxy(socket, false);
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
    if (this.connectedProxies.has(proxy)) proxy.send(data, onSent);
    else proxy.send(data, engine.port, engine.address, onSent);
  }

  /** Closes every proxy; the promises resolve when each is closed, binds in flight included. Idempotent. */
  close(): Promise<void>[] {
    this.closed = true;
    const done: Promise<void>[] = [...this.binding];
    for (const proxy of this.proxies.values()) done.push(closeSocket(proxy));
    this.proxies.clear();
    return done;
  }

  /** Connects a proxy to libjuice's endpoint once both are known (again, after `disconnect`, if the endpoint changed). */
  private connectProxy(proxy: Socket, changed: boolean): void {
    const engine = this.engine;
    if (!engine || this.closed) return;
    if (changed && this.connectedProxies.has(proxy)) {
      this.connectedProxies.delete(proxy);
      try {
        proxy.disconnect();
      } catch {
        // still connecting: the callback below sees the new endpoint
      }
    }
    if (this.connectedProxies.has(proxy)) return;
    try {
      proxy.connect(engine.port, engine.address, (err?: Error) => {
        // Until then (or if it failed) datagrams go with the address, as before.
        if (!err && !this.closed && this.engine && sameEndpoint(this.engine, engine)) this.connectedProxies.add(proxy);
      });
    } catch (err) {
      this.log.debug('cannot connect a loopback proxy', { error: toError(err).message });
    }
  }
}
