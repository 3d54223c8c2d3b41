/**
 * Full call legs (`npx tsx bench/call.ts [--quick]`): tgcall calling tgcall through the fake
 * Telegram on loopback — real DH, encrypted signaling, libdatachannel ICE/DTLS-SRTP, Opus both
 * ways. For 1 call and for several at once: setup time (phone.requestCall to both connected, and
 * the ICE+DTLS part), CPU per call-second per leg (the whole process, both legs of each call run
 * here), packets lost. Each over two paths (issue 12): `host` (p2p allowed, direct on loopback)
 * and `reflector` (p2p off, the call's only server a fake Telegram reflector running in a child
 * process, bench/reflector-child.ts, so its CPU is not counted against the legs; printed apart).
 * Prints a table; asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TelegramCalls, type Call } from '../src/index.js';
import { FakeTelegram, toneFrames, type FakeTelegramOptions } from '../src/fake/index.js';

const quick = process.argv.includes('--quick');

type PathKind = 'host' | 'reflector';

interface Row {
  readonly path: PathKind;
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

/** The reflector child: its port, and a stop() that reports its CPU and the packets it forwarded. */
interface ReflectorChild {
  readonly port: number;
  stop(): Promise<{ cpuMs: number; forwarded: number }>;
}

async function startReflectorChild(): Promise<ReflectorChild> {
  const script = fileURLToPath(new URL('./reflector-child.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const first = await lines.next();
  if (first.done) throw new Error('reflector child exited before listening');
  const { port } = JSON.parse(first.value as string) as { port: number };
  return {
    port,
    async stop() {
      child.stdin!.end();
      const last = await lines.next();
      clearTimeout(kill);
      return last.done ? { cpuMs: NaN, forwarded: NaN } : (JSON.parse(last.value as string) as { cpuMs: number; forwarded: number });
    },
  };
}

/** The fake's settings for a path: host = p2p on, no server; reflector = p2p off, one reflector entry per call. */
function pathSettings(path: PathKind, reflectorPort: number | undefined): FakeTelegramOptions {
  if (path === 'host') return {};
  return {
    p2pAllowed: false,
    // One peer tag per call (from its id), as the server gives each call its own.
    callSettings: ({ call }) => {
      const tag = Buffer.alloc(16);
      tag.writeBigInt64BE(call.id, 0);
      tag.writeBigInt64BE(call.accessHash, 8);
      return { connections: [{ kind: 'reflector', id: 1000n, ip: '127.0.0.1', port: reflectorPort!, peerTag: tag }] };
    },
  };
}

/** `concurrent` calls set up at once, `seconds` of audio both ways, then hung up. */
async function round(path: PathKind, concurrent: number, seconds: number, seed: number, reflectorPort?: number): Promise<Row> {
  const telegram = new FakeTelegram({ seed, ...pathSettings(path, reflectorPort) });
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
      path,
      concurrent,
      setupMs: median(setup),
      iceDtlsMs: median(iceDtls),
      cpuMsPerLegSecond: (used.user + used.system) / 1000 / wallS / Math.max(1, live.length * 2),
      lossPercent: expected > 0 ? (100 * lost) / expected : NaN,
      failed,
    };
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await telegram.close();
  }
}

export default async function benchCall(): Promise<void> {
  const seconds = quick ? 2 : 5;
  const levels = quick ? [1, 4] : [1, 1, 1, 5, 10, 20];
  const rows: Record<string, string | number>[] = [];
  const reflector = await startReflectorChild();
  let reflectorSeconds = 0;
  try {
    for (const [i, concurrent] of levels.entries()) {
      for (const path of ['host', 'reflector'] as const) {
        const r = await round(path, concurrent, seconds, 500 + i, reflector.port);
        if (path === 'reflector') reflectorSeconds += seconds * (concurrent - r.failed);
        rows.push({
          path: r.path,
          'calls at once': r.concurrent,
          'setup ms (request→both connected, median)': Math.round(r.setupMs),
          'ICE+DTLS ms (median)': Math.round(r.iceDtlsMs),
          'CPU ms per leg-second': Number(r.cpuMsPerLegSecond.toFixed(1)),
          'loss %': Number(r.lossPercent.toFixed(2)),
          failed: r.failed,
        });
      }
    }
  } finally {
    const used = await reflector.stop();
    process.stdout.write(`\nFull call legs, tgcall <-> tgcall on loopback through the fake Telegram, ${seconds} s of audio both ways;\n`);
    process.stdout.write('host = p2p allowed, direct; reflector = p2p off, through a fake reflector in a child process\n');
    console.table(rows);
    process.stdout.write(
      `fake reflector process: ${used.cpuMs.toFixed(0)} ms CPU for ${used.forwarded} packets forwarded over ${reflectorSeconds} call-seconds\n`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchCall();
}
