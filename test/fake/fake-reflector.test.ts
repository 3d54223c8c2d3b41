/** FakeReflector's sockets: binding, hello replies, junk and broken TCP streams, close. */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeReflector } from '../../src/fake/index.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { encodeUdpHello, parseServerDatagram } from '../../src/network/reflector-codec.js';
import { encodeTcpFrame } from '../../src/network/tcp-framing.js';

const TAG = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const open: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

async function start(options: Parameters<typeof FakeReflector.start>[0] = {}): Promise<FakeReflector> {
  const fake = await FakeReflector.start(options);
  open.push(() => fake.close());
  return fake;
}

async function udp(): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  open.push(() => new Promise<void>((r) => socket.close(() => r())));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return socket;
}

function nextMessage(socket: UdpSocket): Promise<Buffer> {
  return new Promise((resolve) => socket.once('message', (msg) => resolve(msg)));
}

async function tcp(fake: FakeReflector): Promise<TcpSocket> {
  const socket = connect({ host: fake.host, port: fake.port });
  socket.on('error', () => {});
  open.push(async () => void socket.destroy());
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return socket;
}

function closed(socket: TcpSocket): Promise<void> {
  return new Promise((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
}

async function until(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !predicate(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error('timed out');
  }
}

describe('FakeReflector', () => {
  it('binds UDP and TCP on one 127.0.0.1 port by default, or the host/port given', async () => {
    const fake = await start();
    expect(fake.host).toBe('127.0.0.1');
    expect(fake.port).toBeGreaterThan(0);
    expect(fake.tcp).toBe(true);
    expect(fake.endpoint).toEqual({ address: '127.0.0.1', port: fake.port });
    expect(fake.connection(TAG, { id: 5n, tcp: true })).toEqual({ id: 5n, ip: '127.0.0.1', ipv6: '', port: fake.port, peerTag: TAG, tcp: true });
    await fake.close();
    const again = await start({ port: fake.port, tcp: false }); // the port is free again after close
    expect(again.port).toBe(fake.port);
    expect(again.tcp).toBe(false);
  });

  it('answers a hello with SELF_INFO carrying the client address', async () => {
    const fake = await start();
    const client = await udp();
    const reply = nextMessage(client);
    client.send(encodeUdpHello(TAG, 7), fake.port, '127.0.0.1');
    const msg = new Uint8Array(await reply);
    expect(parseServerDatagram(msg, TAG)).toEqual({ kind: 'special' });
    expect(Buffer.from(msg.subarray(44, 60)).toString('hex')).toBe('00000000000000000000ffff7f000001');
    expect(new DataView(msg.buffer, msg.byteOffset).getUint32(60, true)).toBe(client.address().port);
    expect(fake.clients()[0]).toMatchObject({ id: 7, transport: 'udp', hellos: 1 });
  });

  it('survives random datagrams and random TCP streams without an internal error', async () => {
    const fake = await start();
    const random = new SeededRandom(4);
    const client = await udp();
    for (let i = 0; i < 500; i++) {
      client.send(random.bytes(random.nextUint32() % 200), fake.port, '127.0.0.1');
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1)); // loopback UDP drops bursts
    }
    const streams = await Promise.all(Array.from({ length: 5 }, () => tcp(fake)));
    for (const s of streams) s.write(random.bytes(3000));
    await until(() => fake.counters.received >= 400 && fake.counters.tcpFramingErrors === 5);
    await Promise.all(streams.map(closed));
    expect(fake.counters.internalErrors).toBe(0);
  });

  it('closes a TCP connection whose first bytes are not the prologue, or whose frame is oversize', async () => {
    const fake = await start();
    const bad = await tcp(fake);
    bad.write(encodeTcpFrame(Uint8Array.of(1, 2, 3)));
    await closed(bad);
    const big = await tcp(fake);
    big.write(Uint8Array.of(0xee, 0xee, 0xee, 0xee, 0x01, 0x00, 0x01, 0x00));
    await closed(big);
    expect(fake.counters.tcpFramingErrors).toBe(2);
  });

  it('close releases the sockets and accepted connections, and is idempotent', async () => {
    const fake = await FakeReflector.start();
    const conn = await tcp(fake);
    await until(() => fake.counters.tcpConnections === 1);
    await Promise.all([fake.close(), fake.close()]);
    await closed(conn);
    expect(fake.inject(1, 'garbage')).toBe(false);
    const probe = await udp();
    probe.send(encodeUdpHello(TAG, 1), fake.port, '127.0.0.1'); // nobody there: no throw, no reply
  });
});
