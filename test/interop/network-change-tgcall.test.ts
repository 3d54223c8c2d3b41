/**
 * Issue 13 item 4, tgcall <-> tgcall, on real sockets: two tgcall phones, each a child process
 * in its own namespace (tgcall-child.ts: `TelegramCalls` with no `bindAddress`), one veth between
 * them, the fake Telegram in this process. One call goes through, in turn:
 *
 * 1. a forged check: phone b is frozen (SIGSTOP — silent, its address unchanged), and after 1.5 s
 *    of its silence an attacker in b's namespace sends a's socket Binding requests from a new
 *    address with the right USERNAME (read off the wire, as an on-path attacker would) but a
 *    MESSAGE-INTEGRITY made without a's ICE password (forge_check.py). A verified check in that
 *    moment would move a's route (path-mux.ts: silence ≥ 1 s); the forged ones must not: a's path
 *    is unchanged, 0 moves, the checks counted as `unverified-check`, and the call carries on
 *    when b is thawed.
 * 2. b's address changes (2 -> 4): b's wildcard socket sends from the new address, a follows it
 *    (a verified check, `peer-moved`): the same route that refused the forgeries moves now.
 * 3. a's address changes (1 -> 3): the mirror image, b follows a.
 * After each, audio is back both ways (each phone hears the other's tone in decoded audio) and
 * stays; the call ends by a clean hangup. Bound and reasons: network-change.test.ts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/fake/index.js';
import { awaitRecovery, describeRecovery, KEEPS_SHARE, okShare, pattern, type Recovery } from './audio-timeline.js';
import { createNetnsPair, type NetnsPair } from './netns.js';
import { checkNetnsPrereqs, interopGate, type Prereq } from './prereqs.js';
import { TgcallChild } from './tgcall-child-phone.js';

const A = 8201n;
const B = 8202n;
const A_SENDS_HZ = 880;
const B_SENDS_HZ = 440;
const BOUND_MS = 12_000;
const STEADY_MS = 2_000;
const FORGED = 12;
const FORGER = fileURLToPath(new URL('./forge_check.py', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The forger needs python3 with AF_PACKET (Linux). */
function forgerPrereq(): Prereq {
  const base = checkNetnsPrereqs();
  if (!base.ok) return base;
  const probe = spawnSync('python3', ['-c', 'import socket; socket.AF_PACKET'], { encoding: 'utf8', timeout: 20_000 });
  return probe.status === 0 ? { ok: true } : { ok: false, reason: `python3 with AF_PACKET sockets not found: ${(probe.stderr ?? '').trim().slice(-200)}` };
}

/** forge_check.py inside b's namespace: what it saw on the wire, and a trigger. */
class Forger {
  private readonly lines: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdin?.on('error', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return;
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  async next(key: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
      const found = this.lines.find((l) => key in l || 'error' in l);
      if (found) {
        this.lines.splice(this.lines.indexOf(found), 1);
        if ('error' in found) throw new Error(`forge_check.py: ${String(found.error)}`);
        return found;
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
    throw new Error(`forge_check.py: no ${key} within ${timeoutMs} ms`);
  }

  fire(count: number, source: string): void {
    this.child.stdin?.write(`fire ${count} ${source}\n`);
  }

  async close(): Promise<void> {
    this.child.stdin?.end();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

const enabled = interopGate('network change, tgcall <-> tgcall', forgerPrereq());

describe.skipIf(!enabled)('a network change mid-call, tgcall <-> tgcall', () => {
  let pair: NetnsPair | undefined;
  let telegram: FakeTelegram | undefined;
  const phones: TgcallChild[] = [];
  let forger: Forger | undefined;

  afterEach(async () => {
    await forger?.close();
    for (const phone of phones.splice(0)) await phone.close();
    telegram?.close();
    await pair?.remove();
  });

  it('a forged check from a new address never moves the call; b moves (a follows), then a moves (b follows); audio back both ways; clean hangup', async () => {
    pair = await createNetnsPair();
    telegram = new FakeTelegram({ seed: 14 });
    const net = `10.77.${pair.subnet}`;
    forger = new Forger(pair.b.spawn('python3', ['-u', FORGER, pair.b.iface, pair.b.address], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const a = await TgcallChild.start({ end: pair.a, client: telegram.createClient(A, 'a'), toneHz: A_SENDS_HZ, listenHz: B_SENDS_HZ, name: 'tgcall a (caller)' });
    phones.push(a);
    const b = await TgcallChild.start({ end: pair.b, client: telegram.createClient(B, 'b'), toneHz: B_SENDS_HZ, listenHz: A_SENDS_HZ, name: 'tgcall b (callee)' });
    phones.push(b);
    await a.call(B);
    await Promise.all([a.waitConnected(), b.waitConnected()]);
    const seen = (await forger.next('seen', 10_000)).seen as { address: string; port: number; username: string };
    expect(seen.address).toBe(pair.a.address);

    const marks: { label: string; t0: number; back: number }[] = [];
    const phase = async (label: string, change: () => Promise<number>): Promise<void> => {
      const t0 = Date.now();
      const from = await change();
      const [aHears, bHears] = (await awaitRecovery([(since) => a.heard(since), (since) => b.heard(since)], t0 - 1_000, from, BOUND_MS)) as [Recovery, Recovery];
      console.log(`tgcall <-> tgcall, ${label}: a hears b again after ${describeRecovery(aHears)}; b hears a after ${describeRecovery(bHears)}`);
      if (aHears.backMs === undefined || bHears.backMs === undefined) {
        const stats = await Promise.all([a.stats(), b.stats()]);
        expect.fail(`${label}: audio not back both ways within ${BOUND_MS} ms\n  a: ${JSON.stringify(stats[0].connection?.transport.network)} ${a.diagnostics()}\n  b: ${JSON.stringify(stats[1].connection?.transport.network)} ${b.diagnostics()}`);
      }
      const back = from + Math.max(aHears.backMs, bHears.backMs);
      marks.push({ label, t0, back });
      await sleep(Math.max(0, back + STEADY_MS - Date.now()));
    };

    await phase('connect', async () => a.connectedAt!);
    const before = await a.stats();

    // 1. b falls silent; forged checks from a new address of b's namespace reach a's socket.
    await phase('forged checks while b is frozen', async () => {
      await pair!.b.ip(['addr', 'add', `${net}.9/24`, 'dev', pair!.b.iface]);
      b.signal('SIGSTOP');
      await sleep(1_500);
      forger!.fire(FORGED, `${net}.9`);
      await forger!.next('sent', 10_000);
      await sleep(300);
      b.signal('SIGCONT');
      return Date.now();
    });
    const afterForgery = await a.stats();
    expect(afterForgery.connection?.path, 'a still sends to where b really is').toEqual(before.connection?.path);
    expect(afterForgery.connection?.transport.network?.peerMoves).toBe(0);
    expect(afterForgery.connection?.transport.network?.dropped['unverified-check']).toBeGreaterThanOrEqual(FORGED);
    await pair.b.ip(['addr', 'del', `${net}.9/24`, 'dev', pair.b.iface]);

    // 2. b's address changes: a follows b.
    await phase("b's address 2 -> 4 (a follows)", async () => {
      await pair!.b.ip(['addr', 'add', `${net}.4/24`, 'dev', pair!.b.iface]);
      await pair!.b.ip(['addr', 'del', `${net}.2/24`, 'dev', pair!.b.iface]);
      // the old address is gone once `ip` returns: recovery counts from there
      return Date.now();
    });
    const aMoved = await a.stats();
    expect(aMoved.connection?.transport.network?.peerMoves).toBe(1);
    expect(aMoved.connection?.path?.remote.startsWith(`${net}.4:`), JSON.stringify(aMoved.connection?.path)).toBe(true);

    // 3. a's address changes: b follows a.
    await phase("a's address 1 -> 3 (b follows)", async () => {
      await pair!.a.ip(['addr', 'add', `${net}.3/24`, 'dev', pair!.a.iface]);
      await pair!.a.ip(['addr', 'del', `${net}.1/24`, 'dev', pair!.a.iface]);
      // the old address is gone once `ip` returns: recovery counts from there
      return Date.now();
    });
    const bMoved = await b.stats();
    expect(bMoved.connection?.transport.network?.peerMoves).toBeGreaterThanOrEqual(1);
    expect(bMoved.connection?.path?.remote.startsWith(`${net}.3:`), JSON.stringify(bMoved.connection?.path)).toBe(true);

    // Audio stayed after each recovery until the next change.
    const end = Date.now();
    const [aWindows, bWindows] = await Promise.all([a.heard(marks[0]!.t0 - 1_000), b.heard(marks[0]!.t0 - 1_000)]);
    for (const [i, m] of marks.entries()) {
      const until = marks[i + 1]?.t0 ?? end;
      expect(okShare(aWindows, m.back, until), `${m.label}: a keeps hearing b ${pattern(aWindows, m.back, until)}`).toBeGreaterThanOrEqual(KEEPS_SHARE);
      expect(okShare(bWindows, m.back, until), `${m.label}: b keeps hearing a ${pattern(bWindows, m.back, until)}`).toBeGreaterThanOrEqual(KEEPS_SHARE);
    }
    expect(a.ended, a.diagnostics()).toBeUndefined();
    expect(b.ended, b.diagnostics()).toBeUndefined();
    console.log(`tgcall <-> tgcall: a's edge ${JSON.stringify(aMoved.connection?.transport.network)}; b's edge ${JSON.stringify(bMoved.connection?.transport.network)}`);

    expect(await a.hangup()).toMatchObject({ reason: 'hangup', by: 'local' });
    expect(await b.waitEnded()).toMatchObject({ reason: 'hangup', by: 'remote' });
  }, 120_000);
});
