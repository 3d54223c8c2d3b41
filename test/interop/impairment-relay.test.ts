/**
 * The impairment link does what it says: the loss rate and the delay range it was given, both
 * directions, `down` drops everything, and `remove()` leaves nothing behind. Packets carry their
 * send time (CLOCK_MONOTONIC, shared by all namespaces) so one-way delays are measured directly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createImpairedLink, type ImpairedLink } from './impairment-relay.js';
import { listNetns } from './netns.js';
import { checkNetnsPrereqs, interopGate } from './prereqs.js';

const enabled = interopGate('impairment relay', checkNetnsPrereqs());

/** Receives for `seconds`, prints one-way delays (ms) of what arrived, one per line. */
const RECEIVER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 9999)); s.settimeout(0.2)
end = time.monotonic() + float(sys.argv[2]); print('ready', flush=True)
while time.monotonic() < end:
    try:
        d, _ = s.recvfrom(100)
        print((time.monotonic_ns() - struct.unpack('<q', d[:8])[0]) / 1e6, flush=True)
    except socket.timeout:
        pass
`;
/** Sends `count` stamped packets to `address`, one every 5 ms. */
const SENDER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(struct.pack('<q', time.monotonic_ns()) + b'x' * 32, (sys.argv[1], 9999)); time.sleep(0.005)
`;

async function oneWay(link: ImpairedLink, count: number): Promise<number[]> {
  const rx = link.b.netns!.spawn('python3', ['-c', RECEIVER, link.b.address, String(count * 0.005 + 2)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  rx.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => rx.once('exit', r));
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
  await link.a.netns!.exec('python3', ['-c', SENDER, link.b.address, String(count)], 30_000);
  await exited;
  return out.split('\n').slice(1).filter((l) => l.trim() !== '').map(Number);
}

describe.skipIf(!enabled)('impairment relay', () => {
  const links: ImpairedLink[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) await l.remove();
  });

  it('loses about the share it is told to, delays within [delay − jitter, delay + jitter], and counts both', async () => {
    const link = await createImpairedLink({ loss: 0.1, delayMs: 60, jitterMs: 30, seed: 3 });
    links.push(link);
    const delays = await oneWay(link, 600);
    expect(delays.length).toBeGreaterThan(600 * 0.85);
    expect(delays.length).toBeLessThan(600 * 0.95);
    // Never early; late only by what a loaded machine adds to the relay's wake-ups.
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(29.5);
    const sorted = [...delays].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeGreaterThan(50);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(75);
    expect(delays.filter((d) => d > 100).length).toBeLessThan(delays.length * 0.05);
    const stats = await link.stats();
    expect(stats.ab.packets).toBeGreaterThanOrEqual(600);
    const accounted = stats.ab.dropped + stats.ab.delivered + stats.ab.overflow;
    expect(accounted).toBeLessThanOrEqual(stats.ab.packets);
    expect(accounted).toBeGreaterThanOrEqual(stats.ab.packets - stats.inFlight);
    expect(stats.ab.dropped / stats.ab.packets).toBeGreaterThan(0.05);
    expect(stats.ab.dropped / stats.ab.packets).toBeLessThan(0.15);
  });

  it('drops everything while down, passes again when up, and leaves nothing after remove()', async () => {
    const link = await createImpairedLink({ delayMs: 5 });
    await link.set({ down: true });
    expect(await oneWay(link, 50)).toEqual([]);
    await link.set({ down: false });
    expect((await oneWay(link, 50)).length).toBe(50);
    const names = [link.a.netns!.name, link.b.netns!.name];
    await link.remove();
    await link.remove();
    const left = await listNetns();
    for (const n of names) expect(left).not.toContain(n);
  });
});
