/**
 * A fake Telegram call reflector on real sockets: one UDP socket and a TCP listener on the same
 * host:port, routing with `ReflectorRouter` (the rules and their sources are there).
 *
 * ```ts
 * const reflector = await FakeReflector.start({ loss: 0.1, seed: 7 });   // 127.0.0.1:<ephemeral>
 * const entry = reflector.connection(peerTag);   // a phoneConnection-shaped entry for both sides
 * ...
 * reflector.pause();                             // a reflector that stops mid-call
 * reflector.inject(clientId, 'wrong-tag');       // hostile packets towards a learned client
 * await reflector.close();                       // releases every socket
 * ```
 *
 * Nothing a peer sends can throw out of a socket callback: every handler is guarded and a failure
 * is counted in `counters.internalErrors`.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { Endpoint } from '../network/endpoint.js';
import type { ReflectorConnectionInput } from '../network/reflector-servers.js';
import { encodeTcpFrame, TcpServerDeframer } from '../network/tcp-framing.js';
import {
  ReflectorRouter,
  type ReflectorClientInfo,
  type ReflectorCounters,
  type ReflectorFlow,
  type ReflectorInjection,
  type ReflectorRouterOptions,
  type ReflectorSink,
  type RouterSend,
} from './reflector-router.js';
import { SeededRandom } from './seeded-random.js';

export interface FakeReflectorOptions extends ReflectorRouterOptions {
  /** Address to bind (UDP and TCP). Default 127.0.0.1; tests in a namespace pass the veth address. */
  host?: string;
  /** Port for both sockets; 0 (default) picks a free one. */
  port?: number;
  /** Also accept TCP reflector connections (raw framing, reflector.md §4). Default true. */
  tcp?: boolean;
  /** Seed for loss, duplication and injected garbage. Default 1. */
  seed?: number;
}

export interface FakeReflectorCounters extends ReflectorCounters {
  tcpConnections: number;
  /** TCP connections closed for a framing error (bad prologue, oversize frame). */
  tcpFramingErrors: number;
  /** Sends that failed or were dropped (socket error, TCP connection gone or not reading). */
  sendErrors: number;
  /** Exceptions caught in a socket callback (should stay 0). */
  internalErrors: number;
}

const BIND_ATTEMPTS = 8;
/** A TCP client that does not read is dropped to, not buffered for (tgcalls' RawTcpSocket drops too). */
const MAX_TCP_BACKLOG = 256 * 1024;

export class FakeReflector {
  readonly host: string;
  readonly port: number;
  readonly tcp: boolean;
  private readonly router: ReflectorRouter;
  private readonly extra = { tcpConnections: 0, tcpFramingErrors: 0, sendErrors: 0, internalErrors: 0 };
  private readonly connections = new Map<string, TcpSocket>();
  private nextConnection = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly server: Server | undefined,
    options: FakeReflectorOptions,
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = udp.address().port;
    this.tcp = server !== undefined;
    this.router = new ReflectorRouter(options, new SeededRandom(options.seed ?? 1));
    udp.on('message', (msg, rinfo) => this.guard(() => this.onDatagram(msg, rinfo)));
    udp.on('error', () => this.extra.sendErrors++);
    server?.on('connection', (socket) => this.guard(() => this.onConnection(socket)));
    server?.on('error', () => this.extra.internalErrors++);
  }

  /** Binds UDP (and TCP on the same port) and starts answering. */
  static async start(options: FakeReflectorOptions = {}): Promise<FakeReflector> {
    const host = options.host ?? '127.0.0.1';
    const wantTcp = options.tcp ?? true;
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(options.port ?? 0, host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        throw err;
      }
      if (!wantTcp) return new FakeReflector(udp, undefined, options);
      const server = createServer({ noDelay: true });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(udp.address().port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        return new FakeReflector(udp, server, options);
      } catch (err) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        // The ephemeral UDP port is taken on TCP: pick another (only when we chose the port).
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!inUse || (options.port ?? 0) !== 0 || attempt >= BIND_ATTEMPTS) throw err;
      }
    }
  }

  get endpoint(): Endpoint {
    return { address: this.host, port: this.port };
  }

  get counters(): Readonly<FakeReflectorCounters> {
    return { ...this.router.counters, ...this.extra };
  }

  /** Forwarded packets per `"<srcId>-><dstId>"`. */
  get flows(): ReadonlyMap<string, Readonly<ReflectorFlow>> {
    return this.router.flows;
  }

  /** Learned clients (id, tag, address, counters). */
  clients(): ReflectorClientInfo[] {
    return this.router.clientList();
  }

  get paused(): boolean {
    return this.router.paused;
  }

  /** Stop answering and forwarding (packets are counted in `whilePaused`), as a reflector that died. */
  pause(): void {
    this.router.paused = true;
  }

  resume(): void {
    this.router.paused = false;
  }

  /** Sends one hostile packet to the learned client with port id `clientId`; false if unknown. */
  inject(clientId: number, kind: ReflectorInjection): boolean {
    if (this.closing) return false;
    const sends = this.router.inject(clientId, kind);
    this.deliver(sends);
    return sends.length > 0;
  }

  /** A `phoneConnection`-shaped entry pointing at this reflector. */
  connection(peerTag: Uint8Array, options: { id?: bigint; tcp?: boolean } = {}): ReflectorConnectionInput {
    const v6 = isIPv6(this.host);
    return {
      id: options.id ?? 1n,
      ip: v6 ? '' : this.host,
      ipv6: v6 ? this.host : '',
      port: this.port,
      peerTag: new Uint8Array(peerTag),
      tcp: options.tcp ?? false,
    };
  }

  /** Closes the UDP socket, the listener and every accepted connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.router.paused = true;
      for (const socket of this.connections.values()) socket.destroy();
      this.connections.clear();
      await Promise.all([
        new Promise<void>((resolve) => {
          try {
            this.udp.close(() => resolve());
          } catch {
            resolve(); // already closed
          }
        }),
        new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve())),
      ]);
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- socket handlers

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.extra.internalErrors++;
    }
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const endpoint = { address: rinfo.address, port: rinfo.port };
    const sink: ReflectorSink = { transport: 'udp', key: `udp|${rinfo.address}|${rinfo.port}`, endpoint };
    this.deliver(this.router.handle(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), sink));
  }

  private onConnection(socket: TcpSocket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.extra.tcpConnections++;
    const key = `tcp#${++this.nextConnection}`;
    const sink: ReflectorSink = {
      transport: 'tcp',
      key,
      endpoint: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    };
    this.connections.set(key, socket);
    const deframer = new TcpServerDeframer();
    socket.on('data', (chunk: Buffer) =>
      this.guard(() => {
        const packets = deframer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        for (const packet of packets) this.deliver(this.router.handle(packet, sink));
        if (deframer.broken) {
          this.extra.tcpFramingErrors++;
          socket.destroy();
        }
      }),
    );
    socket.on('error', () => {
      // ECONNRESET and friends: the 'close' that follows does the bookkeeping.
    });
    socket.on('close', () => this.connections.delete(key));
  }

  private deliver(sends: readonly RouterSend[]): void {
    for (const { sink, data } of sends) {
      if (sink.transport === 'udp') {
        this.udp.send(data, sink.endpoint.port, sink.endpoint.address, (err) => {
          if (err) this.extra.sendErrors++;
        });
        continue;
      }
      const socket = this.connections.get(sink.key);
      if (!socket || socket.destroyed || socket.writableLength > MAX_TCP_BACKLOG) {
        this.extra.sendErrors++;
        continue;
      }
      socket.write(encodeTcpFrame(data));
    }
  }
}
