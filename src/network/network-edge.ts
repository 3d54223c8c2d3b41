/**
 * The network edge's adapter: the sockets and the one timer around `PathMux`. It owns every
 * socket of a call that faces the network (direct UDP, TURN and reflector sockets, bound by
 * edge-sockets.ts) and one loopback proxy socket per route, which libjuice (bound to 127.0.0.1)
 * talks to (loopback-proxies.ts).
 *
 * Every socket and timer callback is guarded: nothing thrown here reaches the event loop. A call
 * that ends closes every socket and the timer, so the process can exit by itself.
 */
import type { Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { randomBytes } from 'node:crypto';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';
import { openEdgeSockets } from './edge-sockets.js';
import { hostAddresses, type InterfaceTable } from './host-addresses.js';
import { LoopbackProxies } from './loopback-proxies.js';
import { PathMux, type DirectPathConfig, type MuxEvent, type MuxOutput, type PathInfo } from './path-mux.js';
import { ReflectorPath } from './reflector-path.js';
import type { RelayPath, RelayPathStats, RelayStep } from './relay-path.js';
import type { ServerPlan } from './server-plan.js';
import { closeSocket, type PortRange } from './udp-bind.js';

export interface NetworkEdgeSink {
  /** One of our candidates, for the peer (`candidate:…`). */
  localCandidate(line: string): void;
  /** A remote candidate for libjuice (a loopback proxy). */
  engineCandidate(line: string): void;
  event(event: MuxEvent): void;
}

export interface NetworkEdgeOptions {
  readonly isOutgoing: boolean;
  /** `p2p_allowed`: direct routes and host/srflx candidates. */
  readonly allowDirect: boolean;
  /** The TURN, STUN and reflector servers (server-plan.ts). */
  readonly servers: ServerPlan;
  readonly bindAddress?: string;
  readonly portRange?: PortRange;
  readonly standaloneReflectors?: boolean;
  readonly allowLoopbackPeers?: boolean;
  readonly logger: Logger;
  readonly sink: NetworkEdgeSink;
  /** For tests: the host's interfaces (default `os.networkInterfaces()`). */
  readonly interfaces?: InterfaceTable;
  /**
   * Looks at the host's interfaces every `HOST_SCAN_MS` while the call runs, to signal host
   * candidates for addresses that appear (a network change). Default `os.networkInterfaces` when
   * the socket is on the wildcard address; `false`: never.
   */
  readonly scanInterfaces?: (() => InterfaceTable) | false;
}

export interface EdgeStats {
  /** Routes (loopback proxies) opened, and refused by the caps. */
  readonly routes: number;
  readonly routesRefused: number;
  /** Times the peer was followed to a new address. */
  readonly peerMoves: number;
  /** Datagrams and candidates dropped, by reason (never thrown). */
  readonly dropped: Readonly<Record<string, number>>;
  readonly sendErrors: number;
  /** DTLS handshake repairs (dtls-assist.ts). */
  readonly dtls: { readonly replayed: number; readonly duplicated: number; readonly flightsResent: number; readonly flightTimeouts: number };
  readonly relays: readonly (RelayPathStats & { readonly id: string; readonly kind: 'turn' | 'reflector'; readonly server: string })[];
}

/** What the transport uses of the edge: `NetworkEdge`, or a test's stand-in. */
export interface NetworkEdgePort {
  start(): void;
  setLocalCredentials(ufrag: string, pwd: string): void;
  setEngineEndpoint(endpoint: Endpoint): void;
  remoteDescriptionApplied(): void;
  addRemoteCandidate(line: string): void;
  connected(): void;
  pathInfo(proxyPort: number): PathInfo | undefined;
  getStats(): EdgeStats;
  /** One line on what was tried (routes, relays and their state, drops), for errors. */
  describe(): string;
  /**
   * Why no path can reach the peer, when that is certain: it signalled candidates and none is
   * reachable through ours (e.g. only a reflector we were not given). Undefined otherwise.
   */
  noCommonRelay(): string | undefined;
  /** Resolves once libjuice's DTLS close_notify left for the peer, or after `maxMs`. */
  farewell(maxMs: number): Promise<void>;
  /** Resolves when every socket is closed. Idempotent. */
  close(): Promise<void>;
}

const now = (): number => performance.now();
/** How often the host's addresses are looked at during a call (a new one is signalled). */
const HOST_SCAN_MS = 2_000;

export class NetworkEdge implements NetworkEdgePort {
  private readonly mux: PathMux;
  private readonly options: NetworkEdgeOptions;
  private readonly log: Logger;
  private readonly sink: NetworkEdgeSink;
  private readonly sockets = new Map<string, Socket>();
  private readonly streams = new Map<string, TcpSocket>();
  private readonly proxies: LoopbackProxies;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** A DTLS alert record went to the peer (libjuice closing); `farewell` waits for it. */
  private alertSent = false;
  private onAlert: (() => void) | undefined;
  sendErrors = 0;

  /** Binds the direct and relay sockets; rejects with a typed `TransportError` (no socket left open). */
  static async open(options: NetworkEdgeOptions): Promise<NetworkEdge> {
    const { sockets, direct, relays } = await openEdgeSockets(options);
    return new NetworkEdge(options, sockets, direct, relays);
  }

  private constructor(options: NetworkEdgeOptions, sockets: Map<string, Socket>, direct: DirectPathConfig[], relays: RelayPath[]) {
    this.options = options;
    this.log = options.logger;
    this.sink = options.sink;
    this.mux = new PathMux({
      isOutgoing: options.isOutgoing,
      allowDirect: options.allowDirect,
      direct,
      relays,
      standaloneReflectors: options.standaloneReflectors ?? false,
      allowLoopbackPeers: options.allowLoopbackPeers ?? false,
      tiebreaker: randomBytes(8).readBigUInt64BE() | 1n,
    });
    this.proxies = new LoopbackProxies(this.log, (fn) => this.guard(fn), {
      message: (id, msg, rinfo) => this.apply(this.mux.fromEngine(id, msg, rinfo, now())),
      bound: (id, port) => this.apply(this.mux.proxyBound(id, port)),
    });
    for (const [id, socket] of sockets) {
      this.sockets.set(id, socket);
      socket.on('message', (msg, rinfo) => this.guard(() => this.apply(this.mux.fromNetwork(id, msg, rinfo, now()))));
      socket.on('error', (err) => this.guard(() => this.log.debug('socket error', { socket: id, error: err.message })));
    }
    for (const [i, relay] of relays.entries()) {
      if (relay.transport === 'tcp') this.openStream(`relay${i}`, relay);
    }
  }

  get pathMux(): PathMux {
    return this.mux;
  }

  start(): void {
    this.run(() => this.mux.start(now()));
    const scan = this.options.scanInterfaces ?? (this.options.bindAddress === undefined ? networkInterfaces : false);
    if (scan && this.options.allowDirect && !this.closed && !this.scanTimer) {
      this.scanTimer = setInterval(() => {
        this.guard(() => {
          const hosts = hostAddresses(scan());
          this.apply([...this.mux.hostAddresses(4, hosts.ipv4), ...this.mux.hostAddresses(6, hosts.ipv6)]);
        });
      }, HOST_SCAN_MS);
      this.scanTimer.unref();
    }
  }

  setLocalCredentials(ufrag: string, pwd: string): void {
    this.run(() => this.mux.setLocalCredentials(ufrag, pwd));
  }

  /** libjuice's loopback host candidate. */
  setEngineEndpoint(endpoint: Endpoint): void {
    this.proxies.setEngine(endpoint);
    this.run(() => this.mux.setEngineEndpoint(endpoint));
  }

  remoteDescriptionApplied(): void {
    this.run(() => this.mux.remoteDescriptionApplied());
  }

  addRemoteCandidate(line: string): void {
    this.run(() => this.mux.addRemoteCandidate(line));
  }

  connected(): void {
    this.mux.connected(now());
    this.arm();
  }

  /** One line on what the edge tried, for the error of a call that could not connect or lost its path. */
  describe(): string {
    const kinds = { direct: 0, turn: 0, reflector: 0 };
    for (const route of this.mux.routes.all()) kinds[route.kind]++;
    const relays = [...this.mux.relayPaths().values()].map((r) => `${r.kind} ${formatEndpoint(r.server)} ${r.stats().state}`);
    const drops = Object.entries(this.mux.drops).map(([k, v]) => `${k} ${v}`);
    return [
      this.options.allowDirect ? 'p2p allowed' : 'relay only (p2p not allowed)',
      `routes to the peer: ${kinds.direct} direct, ${kinds.turn} via TURN, ${kinds.reflector} via reflectors`,
      `relays: ${relays.length > 0 ? relays.join(', ') : 'none'}`,
      ...(drops.length > 0 ? [`dropped: ${drops.join(', ')}`] : []),
    ].join('; ');
  }

  noCommonRelay(): string | undefined {
    const relays = [...this.mux.relayPaths().values()].map((r) => ({
      kind: r.kind,
      server: formatEndpoint(r.server),
      ...(r instanceof ReflectorPath ? { serverId: r.serverId } : {}),
    }));
    return this.mux.reach.explain(this.mux.routes.size, this.options.allowDirect, relays);
  }

  /** The route behind libjuice's selected remote candidate (`127.0.0.1:<proxy port>`). */
  pathInfo(proxyPort: number): PathInfo | undefined {
    return this.mux.pathInfo(proxyPort);
  }

  getStats(): EdgeStats {
    const relays: EdgeStats['relays'][number][] = [];
    for (const [id, relay] of this.mux.relayPaths()) relays.push({ id, kind: relay.kind, server: formatEndpoint(relay.server), ...relay.stats() });
    return {
      routes: this.mux.routes.size,
      routesRefused: this.mux.routes.refused,
      peerMoves: this.mux.moves,
      dropped: { ...this.mux.drops },
      sendErrors: this.sendErrors,
      dtls: this.mux.dtlsRepairs(),
      relays,
    };
  }

  /** Closes every socket and the timer (relays get their goodbye first). Idempotent. */
  /**
   * Resolves once libjuice's DTLS alert (close_notify) has left for the peer, or after `maxMs`:
   * called after the peer connection was closed, so the peer learns at once that we hung up.
   */
  farewell(maxMs: number): Promise<void> {
    if (this.alertSent || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.onAlert = undefined;
        resolve();
      }
      this.onAlert = done;
    });
  }

  /** Resolves when every socket is closed (proxies still being bound included). Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.run(() => this.mux.close(now()));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = undefined;
    const done: Promise<void>[] = [];
    for (const socket of this.sockets.values()) done.push(closeSocket(socket));
    done.push(...this.proxies.close());
    for (const stream of this.streams.values()) {
      done.push(new Promise((resolve) => (stream.destroyed ? resolve() : stream.once('close', () => resolve()))));
      stream.destroy();
    }
    this.sockets.clear();
    this.streams.clear();
    // A socket's 'close' event comes before libuv has released its handle (in the loop's close
    // phase); a timer fires after that phase, so a resolved close() leaves no handle behind.
    this.closing = Promise.all(done).then(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------

  private run(step: () => MuxOutput[]): void {
    this.guard(() => this.apply(step()));
  }

  private apply(outputs: MuxOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'net':
          this.sendNet(o.socket, o.to, o.data);
          break;
        case 'engine':
          this.proxies.send(o.route, o.data, this.onSent);
          break;
        case 'open-proxy':
          this.proxies.open(o.route);
          break;
        case 'engine-candidate':
          this.sink.engineCandidate(o.line);
          break;
        case 'local-candidate':
          this.sink.localCandidate(o.line);
          break;
        case 'event':
          this.sink.event(o.event);
          break;
      }
    }
    this.arm();
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };

  private sendNet(id: string, to: Endpoint | undefined, data: Uint8Array): void {
    if (this.closed) return;
    // RFC 7983: 21 = a DTLS alert record (close_notify when libjuice closes).
    if (data[0] === 21 && data.length >= 13) {
      this.alertSent = true;
      this.onAlert?.();
    }
    if (to === undefined) {
      const stream = this.streams.get(id);
      if (stream && !stream.destroyed) stream.write(data);
      return;
    }
    this.sockets.get(id)?.send(data, to.port, to.address, this.onSent);
  }

  private openStream(id: string, relay: RelayPath): void {
    const stream = connect({ host: relay.server.address, port: relay.server.port });
    stream.setNoDelay(true);
    this.streams.set(id, stream);
    stream.on('data', (chunk: Buffer) => this.guard(() => this.apply(this.mux.fromNetwork(id, chunk, relay.server, now()))));
    stream.on('error', (err) => this.guard(() => this.log.debug('relay stream error', { relay: id, error: err.message })));
    stream.on('connect', () => this.guard(() => this.relayStep(id, relay.streamConnected?.(now()))));
    stream.on('close', () =>
      this.guard(() => {
        this.log.debug('relay stream closed', { relay: id });
        if (!this.closed) this.relayStep(id, relay.streamClosed?.(now()));
      }),
    );
  }

  private relayStep(id: string, step: RelayStep | undefined): void {
    if (step && !this.closed) this.apply(this.mux.relayStep(id, step, now()));
  }

  private arm(): void {
    if (this.closed) return;
    const deadline = this.mux.nextDeadline();
    if (deadline === undefined) return;
    if (this.timer && this.timerAt !== undefined && this.timerAt <= deadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.run(() => this.mux.tick(now()));
    }, Math.max(0, deadline - now()));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.log.error('network edge error', { error: toError(err).message });
      } catch {
        // nothing left to report to
      }
    }
  }
}
