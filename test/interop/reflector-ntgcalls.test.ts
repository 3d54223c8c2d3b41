/**
 * Fidelity proof of FakeReflector against the real thing: ntgcalls phones call each other with
 * p2p disallowed and only our fake reflector as server (reflector.md §10 did the same with the
 * Python fake). ntgcalls then gathers no host or srflx candidate (§6): if the call connects and
 * carries the tones, every packet went through the fake — and the negative control (a reflector
 * that answers hellos but forwards nothing) shows there is no other way.
 *
 * The fake runs in this process, bound to the host end of the namespace's veth pair; the phones run
 * inside the namespace (libwebrtc ignores loopback, so they need a real interface).
 * The two tags differ in byte 0 (the official CLI's reflector mode does that, §3.5): the fake's
 * rewrite of bytes 0..11 is what makes packets acceptable to the receiver.
 *
 * What ntgcalls 2.2.5 does with reflectors (found here): it has the UDP ReflectorPort (hellos,
 * READY, signalled hostname candidate, DATA) but hands the peer's `reflector-…` hostname candidate
 * to DNS, which fails, so it never sends a check itself; it answers checks that arrive (the
 * prflx twin of §5.3). So 2.2.5 connects through a reflector with a peer that sends checks
 * (3.0.5, either role) and never with another 2.2.5. It ignores TCP reflector entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeReflector, type FakeReflectorOptions } from '../../src/fake/fake-reflector.js';
import type { Logger } from '../../src/logger.js';
import { createNetns, type Netns } from './netns.js';
import { startNtgcallsPair, type NtgcallsPair } from './ntgcalls-pair.js';
import type { PeerRtcServer } from './ntgcalls-peer.js';
import { expectTonesBothWays, recordedAtLeast } from './pair-checks.js';
import { checkNtgcallsPrereqs, interopGate, type NtgcallsVersion } from './prereqs.js';

const TAG_CALLER = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const TAG_CALLEE = new Uint8Array(Buffer.from('01112233445566778899aabbccddeeff', 'hex'));

function reflectorServer(fake: FakeReflector, peerTag: Uint8Array, tcp: boolean, id = 1): PeerRtcServer {
  // ntgcalls makes any RTCServer with a peer tag a reflector, whatever turn/stun say (§1).
  return { id, ipv4: fake.host, port: fake.port, turn: true, stun: false, tcp, peerTag };
}

/** Collects a peer's stderr (its log) for assertions on what ntgcalls said. */
function logSink(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const logger: Logger = {
    // Lines may be cut at pipe-chunk boundaries; joined without separators they read whole again.
    debug: (m) => void chunks.push(m.slice(m.indexOf(': ') + 2)),
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => logger,
  };
  return { logger, text: () => chunks.join('') };
}

interface CallSetup {
  ns: Netns;
  dir: string;
  label: string;
  versions: [NtgcallsVersion, NtgcallsVersion];
  /** Reflector entries per side: `udp`, `tcp` or both (one id each, same list on both sides). */
  transports: Array<'udp' | 'tcp'>;
  fakeOptions?: FakeReflectorOptions;
  logger?: Logger;
}

async function startCall(setup: CallSetup): Promise<{ fake: FakeReflector; pair: NtgcallsPair }> {
  const fake = await FakeReflector.start({ host: setup.ns.hostAddress, seed: 3, ...setup.fakeOptions });
  const entries = (tag: Uint8Array): PeerRtcServer[] => setup.transports.map((t, i) => reflectorServer(fake, tag, t === 'tcp', i + 1));
  try {
    const pair = await startNtgcallsPair({
      callerVersion: setup.versions[0],
      calleeVersion: setup.versions[1],
      netns: setup.ns,
      dir: setup.dir,
      label: setup.label,
      key: 'skip',
      toneSeconds: 10,
      p2pAllowed: false,
      servers: { caller: entries(TAG_CALLER), callee: entries(TAG_CALLEE) },
      ...(setup.logger ? { logger: setup.logger, verbose: true } : {}),
    });
    return { fake, pair };
  } catch (err) {
    await fake.close();
    throw err;
  }
}

/**
 * Both connected, 3 s of audio each way heard, then a clean hangup (unless `hangup` is false).
 * 3 s, not 2: a 2.2.5 sender's first windows are sometimes not yet the clean tone, and with ~20
 * windows two such ones fail the 90 % rule (seen once in 8 mixed calls).
 */
async function expectCallThroughFake(pair: NtgcallsPair, fake: FakeReflector, hangup = true): Promise<void> {
  await pair.connected(15_000);
  const limit = { caller: await recordedAtLeast(pair.caller, 3), callee: await recordedAtLeast(pair.callee, 3) };
  const flows = [...fake.flows.entries()].sort((a, b) => b[1].packets - a[1].packets);
  if (hangup) await pair.hangup('caller');
  expectTonesBothWays(pair, limit);
  // Media both ways through the fake: the two busiest flows are the two directions of one pair.
  const [top, second] = flows;
  expect(top![1].packets).toBeGreaterThan(80);
  expect(second![1].packets).toBeGreaterThan(80);
  expect(top![0].split('->').reverse().join('->')).toBe(second![0]);
  // Both phones' ports were learned, each with its own tag (the fake rewrote bytes 0..11).
  expect(new Set(fake.clients().map((c) => c.tag.slice(0, 2)))).toEqual(new Set(['00', '01']));
  expect(fake.counters.internalErrors).toBe(0);
}

function suite(name: string, versions: readonly NtgcallsVersion[], body: (ctx: () => { ns: Netns; dir: string }, track: (x: { fake: FakeReflector; pair: NtgcallsPair }) => void) => void): void {
  const enabled = versions.every((v) => interopGate(`ntgcalls ${v} via FakeReflector`, checkNtgcallsPrereqs(v)));
  // ntgcalls 2.2.5 sometimes aborts in its own teardown (see ntgcalls-self.test.ts): one retry.
  describe.skipIf(!enabled)(name, { retry: versions.includes('2.2.5') ? 1 : 0 }, () => {
    let ns: Netns | undefined;
    let dir = '';
    let current: { fake: FakeReflector; pair: NtgcallsPair } | undefined;

    beforeAll(async () => {
      ns = await createNetns({ hostSide: true });
      dir = mkdtempSync(join(tmpdir(), 'tgcall-reflector-'));
    });

    afterEach(async () => {
      await current?.pair.close();
      await current?.fake.close();
      current = undefined;
    });

    afterAll(async () => {
      await ns?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    body(
      () => ({ ns: ns!, dir }),
      (x) => {
        current = x;
      },
    );
  });
}

suite('ntgcalls 3.0.5 <-> ntgcalls 3.0.5 through FakeReflector only, p2p off', ['3.0.5'], (ctx, track) => {
  const v: [NtgcallsVersion, NtgcallsVersion] = ['3.0.5', '3.0.5'];

  it('UDP reflector: both CONNECTED, tones both ways, every media packet through the fake', async () => {
    const call = await startCall({ ...ctx(), label: 'udp', versions: v, transports: ['udp'] });
    track(call);
    await expectCallThroughFake(call.pair, call.fake);
    expect(call.fake.counters.hellos).toBeGreaterThanOrEqual(2); // 40-byte UDP pings, answered
  }, 60_000);

  it('negative control: a reflector that answers hellos but forwards nothing — no connection', async () => {
    const call = await startCall({ ...ctx(), label: 'dead', versions: v, transports: ['udp'], fakeOptions: { loss: 1 } });
    track(call);
    await expect(call.pair.connected(15_000)).rejects.toThrow(/reached (TIMEOUT|FAILED)/);
    const c = call.fake.counters;
    expect(c.hellos).toBeGreaterThanOrEqual(2);
    expect(c.data).toBeGreaterThan(0); // ICE checks reached the reflector...
    expect(c.forwarded).toBe(0); // ...and went nowhere: there is no other path
  }, 60_000);

  it('TCP reflector: ee ee ee ee + LE32 framing, TCP hellos, tones both ways', async () => {
    const call = await startCall({ ...ctx(), label: 'tcp', versions: v, transports: ['tcp'] });
    track(call);
    // No hangup: ntgcalls 3.0.5 segfaults in stop() with TCP reflectors (reflector.md §4).
    await expectCallThroughFake(call.pair, call.fake, false);
    const c = call.fake.counters;
    expect(c.tcpConnections).toBeGreaterThanOrEqual(2);
    expect(c.tcpHellos).toBeGreaterThanOrEqual(2);
    expect(c.tcpFramingErrors).toBe(0);
    expect(c.hellos).toBe(0); // no UDP at all
  }, 60_000);
});

suite('ntgcalls 3.0.5 <-> ntgcalls 2.2.5 through FakeReflector only, p2p off', ['3.0.5', '2.2.5'], (ctx, track) => {
  it.each([
    ['3.0.5', '2.2.5'],
    ['2.2.5', '3.0.5'],
  ] as const)('caller %s, callee %s: connects over UDP, tones both ways', async (caller, callee) => {
    const call = await startCall({ ...ctx(), label: `mixed-${caller}`, versions: [caller, callee], transports: ['udp'] });
    track(call);
    await expectCallThroughFake(call.pair, call.fake);
  }, 60_000);
});

suite('ntgcalls 2.2.5 <-> ntgcalls 2.2.5 through FakeReflector only, p2p off', ['2.2.5'], (ctx, track) => {
  it('does not connect: TCP entries ignored, each side drops the other\'s .reflector candidate (DNS)', async () => {
    const logs = logSink();
    const call = await startCall({ ...ctx(), label: 'v2', versions: ['2.2.5', '2.2.5'], transports: ['udp', 'tcp'], logger: logs.logger });
    track(call);
    await expect(call.pair.connected(15_000)).rejects.toThrow(/reached (TIMEOUT|FAILED)/);
    const c = call.fake.counters;
    expect(c.hellos).toBeGreaterThanOrEqual(2); // both UDP ports became READY and signalled a candidate
    expect(c.tcpConnections).toBe(0); // 2.2.x skips TCP reflector entries (tgcalls 2024, reflector.md §1)
    expect(c.data).toBe(0); // no ICE check ever left either phone
    // libwebrtc tried DNS for the peer's hostname candidate and dropped it (reflector.md §5.3).
    expect(logs.text()).toMatch(/Failed to resolve ICE candidate hostname reflector-1-\d+\.reflector/);
  }, 60_000);
});
