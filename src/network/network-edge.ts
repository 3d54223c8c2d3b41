/**
 * The network edge's adapter: the sockets and the one timer around `PathMux`. It owns every
 * socket of a call that faces the network (direct UDP, TURN and reflector sockets) and one
 * loopback proxy socket per route, which libjuice (bound to 127.0.0.1) talks to.
 *
 * Every socket and timer callback is guarded: nothing thrown here reaches the event loop. A call
 * that ends closes every socket and the timer, so the process can exit by itself.
 */
import type { Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { randomBytes } from 'node:crypto';
import { TransportError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Endpoint } from './endpoint.js';
import { hostAddresses, type InterfaceTable } from './host-addresses.js';
import { PathMux, type DirectPathConfig, type MuxEvent, type MuxOutput } from './path-mux.js';
import type { RelayPath, RelayStep } from './relay-path.js';
import { bindUdp, type PortRange } from './udp-bind.js';

export interface NetworkEdgeSink {
  /** One of our candidates, for the peer (`candidate:…`). */
  localCandidate(line: string): void;
  /** A remote candidate for libjuice (a loopback proxy). */
  engineCandidate(line: string): void;
  event(event: MuxEvent): void;
}

export interface NetworkEdgeOptions {
  readonly isOutgoing: boolean;
  readonly allowDirect: boolean;
  readonly relays: readonly RelayPath[];
  readonly bindAddress?: string;
  readonly portRange?: PortRange;
  readonly standaloneReflectors?: boolean;
  readonly allowLoopbackPeers?: boolean;
  readonly logger: Logger;
  readonly sink: NetworkEdgeSink;
  /** For tests: the host's interfaces (default `os.networkInterfaces()`). */
  readonly interfaces?: InterfaceTable;
}

const now = (): number => performance.now();

export class NetworkEdge {
  private readonly mux: PathMux;
  private readonly log: Logger;
  private readonly sink: NetworkEdgeSink;
  private readonly sockets = new Map<string, Socket>();
  private readonly streams = new Map<string, TcpSocket>();
  private readonly proxies = new Map<number, Socket>();
  private engine: Endpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private closed = false;
  sendErrors = 0;

  /** Binds the direct and relay sockets; rejects with a typed `TransportError` (no socket left open). */
  static async open(options: NetworkEdgeOptions): Promise<NetworkEdge> {
    const sockets = new Map<string, Socket>();
    const direct: DirectPathConfig[] = [];
    try {
      const interfaces = options.interfaces ?? networkInterfaces();
      const hosts = hostAddresses(interfaces);
      if (options.allowDirect) {
        if (options.bindAddress !== undefined) {
          const family = options.bindAddress.includes(':') ? 6 : 4;
          const socket = await bindUdp(family, options.bindAddress, options.portRange);
          sockets.set(`direct${family}`, socket);
          direct.push({ family, localPort: socket.address().port, hostAddresses: [options.bindAddress] });
        } else {
          // The wildcard address: an address change of ours keeps the socket working (network-change.md rule 1).
          const v4 = await bindUdp(4, '0.0.0.0', options.portRange);
          sockets.set('direct4', v4);
          direct.push({ family: 4, localPort: v4.address().port, hostAddresses: hosts.ipv4 });
          if (hosts.ipv6.length > 0) {
            const v6 = await bindUdp(6, '::', options.portRange);
            sockets.set('direct6', v6);
            direct.push({ family: 6, localPort: v6.address().port, hostAddresses: hosts.ipv6 });
          }
        }
      }
      for (const [i, relay] of options.relays.entries()) {
        if (relay.transport !== 'udp') continue;
        const family = relay.server.address.includes(':') ? 6 : 4;
        const local = options.bindAddress !== undefined && (options.bindAddress.includes(':') ? 6 : 4) === family ? options.bindAddress : family === 4 ? '0.0.0.0' : '::';
        sockets.set(`relay${i}`, await bindUdp(family, local, options.portRange));
      }
    } catch (err) {
      for (const socket of sockets.values()) closeQuietly(socket);
      throw err instanceof TransportError ? err : new TransportError('BIND_FAILED', toError(err).message, { cause: err });
    }
    return new NetworkEdge(options, sockets, direct);
  }

  private constructor(options: NetworkEdgeOptions, sockets: Map<string, Socket>, direct: DirectPathConfig[]) {
    this.log = options.logger;
    this.sink = options.sink;
    this.mux = new PathMux({
      isOutgoing: options.isOutgoing,
      allowDirect: options.allowDirect,
      direct,
      relays: options.relays,
      standaloneReflectors: options.standaloneReflectors ?? false,
      allowLoopbackPeers: options.allowLoopbackPeers ?? false,
      tiebreaker: randomBytes(8).readBigUInt64BE() | 1n,
    });
    for (const [id, socket] of sockets) {
      this.sockets.set(id, socket);
      socket.on('message', (msg, rinfo) => this.guard(() => this.apply(this.mux.fromNetwork(id, msg, rinfo, now()))));
      socket.on('error', (err) => this.guard(() => this.log.debug('socket error', { socket: id, error: err.message })));
    }
    for (const [i, relay] of options.relays.entries()) {
      if (relay.transport === 'tcp') this.openStream(`relay${i}`, relay);
    }
  }

  get pathMux(): PathMux {
    return this.mux;
  }

  start(): void {
    this.run(() => this.mux.start(now()));
  }

  setLocalCredentials(ufrag: string, pwd: string): void {
    this.run(() => this.mux.setLocalCredentials(ufrag, pwd));
  }

  /** libjuice's loopback host candidate. */
  setEngineEndpoint(endpoint: Endpoint): void {
    this.engine = endpoint;
    this.run(() => this.mux.setEngineEndpoint(endpoint));
  }

  remoteDescriptionApplied(): void {
    this.run(() => this.mux.remoteDescriptionApplied());
  }

  addRemoteCandidate(line: string): void {
    this.run(() => this.mux.addRemoteCandidate(line));
  }

  connected(): void {
    this.mux.connected();
  }

  /** Closes every socket and the timer (relays get their goodbye first). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.run(() => this.mux.close(now()));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const socket of this.sockets.values()) closeQuietly(socket);
    for (const socket of this.proxies.values()) closeQuietly(socket);
    for (const stream of this.streams.values()) stream.destroy();
    this.sockets.clear();
    this.proxies.clear();
    this.streams.clear();
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
        case 'engine': {
          const proxy = this.proxies.get(o.route);
          const engine = this.engine;
          if (proxy && engine) proxy.send(o.data, engine.port, engine.address, this.onSent);
          break;
        }
        case 'open-proxy':
          this.openProxy(o.route);
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
    if (to === undefined) {
      const stream = this.streams.get(id);
      if (stream && !stream.destroyed) stream.write(data);
      return;
    }
    this.sockets.get(id)?.send(data, to.port, to.address, this.onSent);
  }

  private openProxy(id: number): void {
    if (this.closed) return;
    bindUdp(4, '127.0.0.1').then(
      (socket) => {
        if (this.closed) return closeQuietly(socket);
        this.proxies.set(id, socket);
        socket.on('message', (msg, rinfo) => this.guard(() => this.apply(this.mux.fromEngine(id, msg, rinfo, now()))));
        socket.on('error', (err) => this.guard(() => this.log.debug('proxy socket error', { route: id, error: err.message })));
        this.run(() => this.mux.proxyBound(id, socket.address().port));
      },
      (err: unknown) => this.guard(() => this.log.warn('cannot open a loopback proxy', { route: id, error: toError(err).message })),
    );
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

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}
