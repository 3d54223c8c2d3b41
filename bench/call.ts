/**
 * Full call legs (`npx tsx bench/call.ts [--quick]`): tgcall calling tgcall through the fake
 * Telegram on loopback — real DH, encrypted signaling, libdatachannel ICE/DTLS-SRTP, Opus both
 * ways. For 1 call and for several at once: setup time (phone.requestCall to both connected, and
 * the ICE+DTLS part), CPU per call-second per leg (the whole process, both legs of each call run
 * here), packets lost. Prints a table; asserts nothing.
 */
import { pathToFileURL } from 'node:url';
import { TelegramCalls, type Call } from '../src/index.js';
import { FakeTelegram, toneFrames } from '../src/fake/index.js';

const quick = process.argv.includes('--quick');

interface Row {
  readonly concurrent: number;
  readonly setupMs: number;
  readonly iceDtlsMs: number;
  readonly cpuMsPerLegSecond: number;
  readonly lossPercent: number;
  readonly failed: number;
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

function talk(call: Call, frequency: number): void {
  void call.audio.play(toneFrames({ frequency, amplitude: 0.4, more: () => call.state === 'connected' }));
}

/** `concurrent` calls set up at once, `seconds` of audio both ways, then hung up. */
async function round(concurrent: number, seconds: number, seed: number): Promise<Row> {
  const telegram = new FakeTelegram({ seed });
  const phones: TelegramCalls[] = [];
  const setup: number[] = [];
  const iceDtls: number[] = [];
  let failed = 0;
  try {
    const pairs = Array.from({ length: concurrent }, (_, i) => {
      const a = new TelegramCalls(telegram.createClient(BigInt(10_000 + 2 * i), `a${i}`), { bindAddress: '127.0.0.1' });
      const b = new TelegramCalls(telegram.createClient(BigInt(10_001 + 2 * i), `b${i}`), { bindAddress: '127.0.0.1' });
      phones.push(a, b);
      return { a, b, peer: BigInt(10_001 + 2 * i) };
    });
    await Promise.all(phones.map((p) => p.start()));
    const calls = await Promise.all(
      pairs.map(async ({ a, b, peer }) => {
        try {
          const incoming = new Promise<Call>((resolve) => b.once('incoming', resolve));
          const startedAt = performance.now();
          const out = await a.call(peer);
          const inc = await incoming;
          await Promise.all([inc.accept(), out.whenConnected()]);
          setup.push(performance.now() - startedAt);
          iceDtls.push(out.getStats().connectMs ?? NaN);
          return [out, inc] as const;
        } catch {
          failed += 1;
          return undefined;
        }
      }),
    );
    const live = calls.filter((c) => c !== undefined);
    for (const [out, inc] of live) {
      talk(out, 440);
      talk(inc, 880);
    }
    const cpu = process.cpuUsage();
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const used = process.cpuUsage(cpu);
    const wallS = (performance.now() - start) / 1000;
    let expected = 0;
    let lost = 0;
    for (const call of live.flat()) {
      const r = call.getStats().media.received;
      expected += r.packets + r.lost;
      lost += r.lost;
    }
    await Promise.all(live.map(([out]) => out.hangup()));
    return {
      concurrent,
      setupMs: median(setup),
      iceDtlsMs: median(iceDtls),
      cpuMsPerLegSecond: (used.user + used.system) / 1000 / wallS / Math.max(1, live.length * 2),
      lossPercent: expected > 0 ? (100 * lost) / expected : NaN,
      failed,
    };
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    telegram.close();
  }
}

export default async function benchCall(): Promise<void> {
  const seconds = quick ? 2 : 5;
  const levels = quick ? [1, 4] : [1, 1, 1, 5, 10, 20];
  const rows: Record<string, string | number>[] = [];
  for (const [i, concurrent] of levels.entries()) {
    const r = await round(concurrent, seconds, 500 + i);
    rows.push({
      'calls at once': r.concurrent,
      'setup ms (request→both connected, median)': Math.round(r.setupMs),
      'ICE+DTLS ms (median)': Math.round(r.iceDtlsMs),
      'CPU ms per leg-second': Number(r.cpuMsPerLegSecond.toFixed(1)),
      'loss %': Number(r.lossPercent.toFixed(2)),
      failed: r.failed,
    });
  }
  process.stdout.write(`\nFull call legs, tgcall <-> tgcall on loopback through the fake Telegram, ${seconds} s of audio both ways\n`);
  console.table(rows);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchCall();
}
