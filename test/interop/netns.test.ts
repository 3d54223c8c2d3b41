import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetns, listNetns, type Netns } from './netns.js';
import { checkNetnsPrereqs, interopGate } from './prereqs.js';

const enabled = interopGate('network namespaces', checkNetnsPrereqs());

/** A one-shot UDP echo server for a child Node process inside the namespace. */
const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address, () => s.close()));
s.bind(Number(process.argv[2]), process.argv[1], () => process.stdout.write('bound\\n'));
setTimeout(() => process.exit(3), 8000).unref();
`;

describe.skipIf(!enabled)('netns', () => {
  const made: Netns[] = [];
  afterEach(async () => {
    for (const ns of made.splice(0)) await ns.remove();
  });

  it('holds both veth ends and lo, all up, and is gone after remove()', async () => {
    const ns = await createNetns({ subnet: 9 });
    made.push(ns);
    expect(ns.hostAddress).toBe('10.77.9.1');
    expect(ns.peerAddress).toBe('10.77.9.2');
    expect(ns.createMs).toBeGreaterThan(0);
    const addrs = await ns.exec('ip', ['-4', '-o', 'addr', 'show', 'up']);
    expect(addrs).toContain('127.0.0.1/8');
    expect(addrs).toContain('10.77.9.1/24');
    expect(addrs).toContain('10.77.9.2/24');
    expect(await listNetns()).toContain(ns.name);
    await ns.remove();
    await ns.remove();
    expect(await listNetns()).not.toContain(ns.name);
  });

  it('gives two namespaces distinct names', async () => {
    const a = await createNetns();
    made.push(a);
    const b = await createNetns();
    made.push(b);
    expect(a.name).not.toBe(b.name);
  });

  it('hostSide: a socket in the test process reaches a process inside the namespace', async () => {
    const ns = await createNetns({ hostSide: true });
    made.push(ns);
    const inside = await ns.exec('ip', ['-4', '-o', 'addr', 'show']);
    expect(inside).toContain(`${ns.peerAddress}/24`);
    expect(inside).not.toContain(`${ns.hostAddress}/24`);

    const port = 40000 + (process.pid % 20000);
    const child = ns.spawn(process.execPath, ['-e', ECHO, ns.peerAddress, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await once(child.stdout!, 'data');
      const socket = createSocket('udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(0, ns.hostAddress, () => resolve());
        });
        const reply = once(socket, 'message');
        socket.send(Buffer.from('ping'), port, ns.peerAddress);
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no echo in 5 s')), 5000).unref());
        const [message, remote] = (await Promise.race([reply, timeout])) as [Buffer, { address: string }];
        expect(message.toString()).toBe('ping');
        expect(remote.address).toBe(ns.peerAddress);
      } finally {
        socket.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
