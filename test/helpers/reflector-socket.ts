/**
 * Thin test adapters driving a sans-I/O `ReflectorClient` with a real socket and one timer: a
 * dgram socket for UDP reflectors, a net socket for TCP ones. The socket mux of the library will
 * do the same job; these exist so the client can be tested against the fake on loopback.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { ReflectorClient, type ReflectorClientOptions, type ReflectorClientOutput, type ReflectorClientState } from '../../src/network/reflector-client.js';

export interface ReceivedPayload {
  senderId: number;
  payload: Uint8Array;
}

export class ReflectorSocketDriver {
  readonly client: ReflectorClient;
  readonly received: ReceivedPayload[] = [];
  readonly states: ReflectorClientState[] = [];
  private timer: NodeJS.Timeout | undefined;
  private udp: UdpSocket | undefined;
  private tcp: TcpSocket | undefined;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  /** Errors thrown by the driver's own callbacks (should stay empty). */
  readonly errors: unknown[] = [];

  constructor(options: ReflectorClientOptions) {
    this.client = new ReflectorClient(options);
  }

  /** Opens the socket and starts the client (UDP: first hello; TCP: connect). */
  async start(): Promise<void> {
    const server = this.client.server;
    if (this.client.transport === 'udp') {
      const udp = createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
      this.udp = udp;
      udp.on('message', (msg, rinfo) =>
        this.guard(() => this.apply(this.client.receive(new Uint8Array(msg), { address: rinfo.address, port: rinfo.port }, now()))),
      );
      udp.on('error', (err) => this.errors.push(err));
      await new Promise<void>((resolve) => udp.bind(0, resolve));
      this.apply(this.client.start(now()));
      return;
    }
    this.apply(this.client.start(now()));
    const socket = connect({ host: server.address, port: server.port, noDelay: true });
    this.tcp = socket;
    socket.on('data', (chunk: Buffer) =>
      this.guard(() => {
        const out = this.client.receive(new Uint8Array(chunk), server, now());
        this.apply(out);
        if (out.events.some((e) => e.type === 'stream-error')) socket.destroy();
      }),
    );
    socket.on('error', () => {});
    socket.on('close', () => this.guard(() => this.apply(this.client.disconnected(now()))));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        this.apply(this.client.connected(now()));
        resolve();
      });
      socket.once('error', reject);
    });
  }

  /** The local UDP port (UDP only). */
  get localPort(): number {
    return this.udp?.address().port ?? 0;
  }

  sendTo(peerId: number, payload: Uint8Array): void {
    this.apply(this.client.sendTo(peerId, payload, now()));
  }

  /** Resolves once `predicate()` holds (checked after every event), rejects after `timeoutMs`. */
  waitUntil(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.apply(this.client.close(now()));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const udp = this.udp;
    const tcp = this.tcp;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp && !tcp.destroyed) {
      await new Promise<void>((resolve) => {
        tcp.once('close', () => resolve());
        tcp.destroy();
      });
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.errors.push(err);
    }
  }

  private apply(out: ReflectorClientOutput): void {
    for (const { to, data } of out.send) {
      if (this.closed) break;
      if (this.udp) this.udp.send(data, to.port, to.address);
      else if (this.tcp && !this.tcp.destroyed) this.tcp.write(data);
    }
    for (const event of out.events) {
      if (event.type === 'data') this.received.push({ senderId: event.senderId, payload: event.payload.slice() });
      if (event.type === 'state') this.states.push(event.state);
    }
    this.schedule();
    for (const check of [...this.waiters]) check();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = this.client.nextDeadline();
    if (this.closed || deadline === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.guard(() => this.apply(this.client.tick(now())));
    }, Math.max(0, deadline - now()));
  }
}

function now(): number {
  return performance.now();
}
