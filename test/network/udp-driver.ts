/**
 * The thin dgram adapter of the tests: one UDP socket driving one sans-I/O core (EDGE.md contract:
 * start/receive/tick/nextDeadline/close with `now`), one timer armed at the core's next deadline.
 * Events are collected in order and awaited with `waitFor` (bounded).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { CoreStep } from '../../src/network/datagram.js';
import type { Endpoint } from '../../src/network/endpoint.js';

export interface DrivableCore<E> {
  receive(bytes: Uint8Array, from: Endpoint, now: number): CoreStep<E>;
  tick(now: number): CoreStep<E>;
  nextDeadline(): number | undefined;
  close(now: number): CoreStep<E>;
}

const clock = (): number => performance.now();

export class UdpDriver<E> {
  readonly events: E[] = [];
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly socket: Socket,
    readonly core: DrivableCore<E>,
  ) {
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      this.apply(this.core.receive(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port }, clock()));
    });
  }

  static async open<E>(core: DrivableCore<E>, address = '127.0.0.1'): Promise<UdpDriver<E>> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpDriver(socket, core);
  }

  get local(): Endpoint {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Runs `call(now)` on the core and sends what it returns. */
  run(call: (now: number) => CoreStep<E>): void {
    if (!this.closed) this.apply(call(clock()));
  }

  async waitFor<T extends E>(match: (e: E) => e is T, timeoutMs?: number): Promise<T>;
  async waitFor(match: (e: E) => boolean, timeoutMs?: number): Promise<E>;
  async waitFor(match: (e: E) => boolean, timeoutMs = 10_000): Promise<E> {
    const deadline = clock() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      const left = deadline - clock();
      if (left <= 0) throw new Error(`event not seen in ${timeoutMs} ms; have ${JSON.stringify(this.events.map((e) => (e as { type?: string }).type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const step = this.core.close(clock());
    this.closed = true;
    // the goodbye datagrams must leave before the socket closes
    await Promise.all(step.send.map((d) => new Promise<void>((resolve) => this.socket.send(d.data, d.to.port, d.to.address, () => resolve()))));
    clearTimeout(this.timer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private apply(step: CoreStep<E>): void {
    for (const d of step.send) this.socket.send(d.data, d.to.port, d.to.address);
    if (step.events.length > 0) {
      this.events.push(...step.events);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.core.nextDeadline();
    if (at === undefined || this.closed) return;
    this.timer = setTimeout(() => this.run((now) => this.core.tick(now)), Math.max(0, at - clock()));
  }
}
