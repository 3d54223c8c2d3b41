/**
 * One process of the call benchmark (started by bench/call.ts with an IPC channel):
 * - `pairs`: N calls with both legs here, through an in-process fake Telegram;
 * - `leg`: one leg, its fake Telegram account served by the parent (mtproto-bridge.ts), so that
 *   a call has one leg per process.
 * Sends one `report` message and exits.
 */
import { FakeTelegram } from '../src/fake/index.js';
import { pathSettings, type PathKind } from './call-paths.js';
import { TelegramCalls, type Call } from '../src/index.js';
import { CodecWorkerPool, preloadOpus, type OpusCodec } from '../src/media/index.js';
import { preloadPeerConnections } from '../src/transport/index.js';
import { codecMsPerLegSecond, measureWindow, playLoop, settledMemory, toneLoop, type Window } from './measure.js';
import { BridgeClient, type BridgePort } from './mtproto-bridge.js';

export type ChildTask =
  | { readonly mode: 'pairs'; readonly calls: number; readonly seconds: number; readonly warmup: number; readonly seed: number; readonly path: PathKind; readonly reflectorPort?: number; readonly codecWorkers?: number }
  | { readonly mode: 'leg'; readonly role: 'caller' | 'callee'; readonly self: bigint; readonly peer: bigint; readonly seconds: number; readonly warmup: number; readonly codecWorkers?: number };

export interface ChildReport {
  readonly k: 'report';
  readonly legs: number;
  readonly failed: number;
  readonly setupMs: readonly number[];
  /** The ICE+DTLS part of each setup (Call's connectMs). */
  readonly iceDtlsMs: readonly number[];
  /** Memory with the runtime loaded (libdatachannel, libopus) and no call, bytes. */
  readonly base: ReturnType<typeof settledMemory>;
  readonly window: Window | undefined;
  readonly codecMs: number;
}

const port: BridgePort = {
  send: (m) => process.send?.(m),
  onMessage: (listener) => {
    process.on('message', listener);
    return () => process.off('message', listener);
  },
};

/**
 * `BENCH_NULL_CODEC=1`: a codec that does no work (a fixed 20 ms SILK packet out, a fresh frame of
 * zeros back), to see what the library costs without libopus.
 */
const nullCodec: OpusCodec = {
  name: 'null',
  createEncoder: (o) => {
    const packet = new Uint8Array(80);
    packet[0] = (9 << 3) | 0; // SILK WB 20 ms, one frame
    return { channels: o.channels, encode: () => packet, setBitrate: () => undefined, setPacketLossPercent: () => undefined, close: () => undefined };
  },
  createDecoder: (channels) => ({
    channels,
    decode: () => new Int16Array(960 * channels),
    decodeFec: (_p, n) => new Int16Array(n * channels),
    conceal: (n) => new Int16Array(n * channels),
    close: () => undefined,
  }),
};
const audio = process.env.BENCH_NULL_CODEC ? { audio: { codec: nullCodec } } : {};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nextMessage(k: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = port.onMessage((m) => {
      if ((m as { k?: unknown }).k !== k) return;
      stop();
      resolve();
    });
  });
}

/** Loads what every call needs, so the base RSS counts the runtime and not the calls. */
function baseline(): ReturnType<typeof settledMemory> {
  preloadPeerConnections();
  preloadOpus();
  return settledMemory();
}

async function runPairs(task: Extract<ChildTask, { mode: 'pairs' }>): Promise<ChildReport> {
  const base = baseline();
  const telegram = new FakeTelegram({ seed: task.seed, ...pathSettings(task.path, task.reflectorPort) });
  // Every leg here has its own TelegramCalls, and `codecWorkers` gives each its own pool: one pool
  // shared through `audio.codec` (what `codecWorkers` does inside one TelegramCalls) is the process
  // a bot with many calls would be.
  const pool = task.codecWorkers ? new CodecWorkerPool({ workers: task.codecWorkers }) : undefined;
  const options = pool ? { audio: { codec: pool.codec } } : audio;
  const phones: TelegramCalls[] = [];
  const setupMs: number[] = [];
  const iceDtlsMs: number[] = [];
  let failed = 0;
  let window: Window | undefined;
  try {
    const pairs = Array.from({ length: task.calls }, (_, i) => {
      const a = new TelegramCalls(telegram.createClient(BigInt(10_000 + 2 * i), `a${i}`), { bindAddress: '127.0.0.1', ...options });
      const b = new TelegramCalls(telegram.createClient(BigInt(10_001 + 2 * i), `b${i}`), { bindAddress: '127.0.0.1', ...options });
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
          setupMs.push(performance.now() - startedAt);
          iceDtlsMs.push(out.getStats().connectMs ?? NaN);
          return [out, inc] as const;
        } catch {
          failed += 1;
          return undefined;
        }
      }),
    );
    const live = calls.filter((c) => c !== undefined);
    const [low, high] = [toneLoop(440), toneLoop(880)];
    for (const [out, inc] of live) {
      playLoop(out, low);
      playLoop(inc, high);
    }
    await sleep(task.warmup * 1000);
    window = await measureWindow(task.seconds, live.flat());
    await Promise.all(live.map(([out]) => out.hangup()));
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await pool?.close();
    await telegram.close();
  }
  return { k: 'report', legs: 2 * (task.calls - failed), failed, setupMs, iceDtlsMs, base, window, codecMs: codecMsPerLegSecond(toneLoop(440)) };
}

async function runLeg(task: Extract<ChildTask, { mode: 'leg' }>): Promise<ChildReport> {
  const base = baseline();
  const client = new BridgeClient(port, task.self);
  const phone = new TelegramCalls(client, { bindAddress: '127.0.0.1', ...audio, ...(task.codecWorkers ? { codecWorkers: task.codecWorkers } : {}) });
  const setupMs: number[] = [];
  const iceDtlsMs: number[] = [];
  let window: Window | undefined;
  let failed = 0;
  try {
    await phone.start();
    const go = nextMessage('go');
    port.send({ k: 'ready' });
    await go;
    let call: Call;
    if (task.role === 'caller') {
      const startedAt = performance.now();
      call = await phone.call(await client.resolveUser(task.peer));
      await call.whenConnected();
      setupMs.push(performance.now() - startedAt);
      iceDtlsMs.push(call.getStats().connectMs ?? NaN);
    } else {
      call = await new Promise<Call>((resolve) => phone.once('incoming', resolve));
      await Promise.all([call.accept(), call.whenConnected()]);
    }
    playLoop(call, toneLoop(task.role === 'caller' ? 440 : 880));
    await sleep(task.warmup * 1000);
    window = await measureWindow(task.seconds, [call]);
    const stop = nextMessage('stop');
    port.send({ k: 'measured' });
    await stop;
    if (task.role === 'caller') await call.hangup();
    else await new Promise<void>((resolve) => (call.state === 'ended' ? resolve() : call.once('ended', () => resolve())));
  } catch (err) {
    failed = 1;
    process.stderr.write(`leg ${task.role} failed: ${String(err)}\n`);
    port.send({ k: 'measured' });
  } finally {
    await phone.stop();
    client.close();
  }
  return { k: 'report', legs: 1 - failed, failed, setupMs, iceDtlsMs, base, window, codecMs: codecMsPerLegSecond(toneLoop(440)) };
}

const task = await new Promise<ChildTask>((resolve) => process.once('message', (m) => resolve(m as ChildTask)));
const report = task.mode === 'pairs' ? await runPairs(task) : await runLeg(task);
port.send(report);
process.disconnect?.();
