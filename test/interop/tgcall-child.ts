/**
 * One tgcall phone in a child process, so it can live in a network namespace of its own (a Node
 * process cannot change its namespace; `ip netns exec` starts this file inside one). It is a
 * `TelegramCalls` exactly as an application uses it — no `bindAddress`, so its socket is on the
 * wildcard address as a real call's is (network-change.md rule 1) — on an MTProto client that
 * forwards every request and update, as TL bytes, to the fake Telegram in the parent process.
 *
 * JSON lines. Parent → child: `rpc-result {id, data}` / `rpc-error {id, message, errorMessage?,
 * code?}` / `update {data}` (TL bytes, base64), `call {userId, accessHash}`, `stats {id}`,
 * `heard {id, since}`, `hangup {id}`, `exit`. Child → parent: `ready`, `rpc {id, data}`,
 * `incoming`, `state {state}`, `connected`, `ended {reason, by, error?}`, `log {level, message,
 * fields}`, `reply {id, …}`. Every event carries `at` (Date.now(), the parent's clock too).
 *
 * Argv: userId toneHz listenHz. The phone answers incoming calls at once, plays a `toneHz` sine
 * while connected and, every 100 ms window of what it hears, notes whether `listenHz` dominates.
 */
import { createInterface } from 'node:readline';
import { errors, type Api } from 'telegram';
import { tlBytes, tlParse } from '../../src/fake/index.js';
import { TelegramCalls, type Call, type Logger, type LogLevel } from '../../src/index.js';
import { toneRatio } from '../../src/media/goertzel.js';
import { toneFrames } from '../../src/media/tone.js';
import type { MtprotoClient } from '../../src/signaling/index.js';

const [userIdArg, toneArg, listenArg] = process.argv.slice(2);
const USER_ID = BigInt(userIdArg ?? '0');
const TONE_HZ = Number(toneArg ?? 880);
const LISTEN_HZ = Number(listenArg ?? 440);
/** 100 ms windows kept (10 minutes): the parent reads them while the call runs. */
const MAX_WINDOWS = 6_000;
const WINDOW_SAMPLES = 4_800;
/** Voiced: RMS at least −40 dBFS (tone-detector.ts's default). */
const VOICED_RMS = 32768 * 10 ** (-40 / 20);

function send(ev: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ ev, at: Date.now(), ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  process.stdout.write(`${line}\n`);
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** The fake Telegram, one process away: requests and updates cross stdin/stdout as TL bytes. */
class BridgedClient implements MtprotoClient {
  private readonly listeners = new Set<(update: unknown) => void>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; request: Api.AnyRequest }>();
  private nextId = 0;

  invoke(request: Api.AnyRequest): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, request });
      send('rpc', { id, data: b64(tlBytes(request)) });
    });
  }

  onUpdate(listener: (update: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  getSelfUserId(): Promise<bigint> {
    return Promise.resolve(USER_ID);
  }

  settle(msg: Record<string, unknown>): void {
    const entry = this.pending.get(Number(msg.id));
    if (!entry) return;
    this.pending.delete(Number(msg.id));
    if (msg.op === 'rpc-result') {
      entry.resolve(tlParse(Buffer.from(String(msg.data), 'base64')));
    } else if (typeof msg.errorMessage === 'string') {
      entry.reject(new errors.RPCError(msg.errorMessage, entry.request, Number(msg.code ?? 400)));
    } else {
      entry.reject(new Error(String(msg.message)));
    }
  }

  deliver(data: string): void {
    const update = tlParse(Buffer.from(data, 'base64'));
    for (const listener of [...this.listeners]) listener(update);
  }
}

/** Forwards info and above to the parent (peer-moved, peer-silent, errors); debug is dropped. */
function bridgeLogger(scope: string): Logger {
  const out = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (level !== 'debug') send('log', { level, scope, message, fields });
  };
  return { debug: out('debug'), info: out('info'), warn: out('warn'), error: out('error'), child: (s) => bridgeLogger(`${scope}:${s}`) };
}

const client = new BridgedClient();
const calls = new TelegramCalls(client, { logger: bridgeLogger('tgcall') });
let call: Call | undefined;
let playing = false;
const windows: { t: number; ok: boolean }[] = [];

/** Notes, per 100 ms window of decoded audio, whether LISTEN_HZ dominates (frames are continuous: silence and concealment fill gaps). */
async function listen(c: Call): Promise<void> {
  const buffer = new Int16Array(WINDOW_SAMPLES);
  let filled = 0;
  for await (const frame of c.audio.frames()) {
    for (let i = 0; i < frame.pcm.length && filled < WINDOW_SAMPLES; i++) buffer[filled++] = frame.pcm[i]!;
    if (filled < WINDOW_SAMPLES) continue;
    let energy = 0;
    for (let i = 0; i < WINDOW_SAMPLES; i++) energy += buffer[i]! * buffer[i]!;
    const voiced = Math.sqrt(energy / WINDOW_SAMPLES) >= VOICED_RMS;
    windows.push({ t: Date.now(), ok: voiced && toneRatio(buffer, LISTEN_HZ, 48000) >= 0.5 });
    if (windows.length > MAX_WINDOWS) windows.shift();
    filled = 0;
  }
}

function follow(c: Call): void {
  call = c;
  c.on('state', (state) => send('state', { state }));
  c.on('connected', () => {
    send('connected');
    if (playing) return;
    playing = true;
    void c.audio.play(toneFrames({ frequency: TONE_HZ, more: () => c.state !== 'ending' && c.state !== 'ended' })).catch(() => undefined);
    void listen(c).catch((err: unknown) => send('log', { level: 'error', scope: 'child', message: `listen: ${String(err)}` }));
  });
  c.on('ended', (info) => send('ended', { reason: info.reason, by: info.by, error: info.error ? { code: info.error.code, message: info.error.message } : undefined }));
}

calls.on('incoming', (c) => {
  send('incoming');
  follow(c);
  c.accept().catch((err: unknown) => send('log', { level: 'error', scope: 'child', message: `accept: ${String(err)}` }));
});
calls.on('error', (err) => send('log', { level: 'error', scope: 'tgcall', message: err.message }));

async function handle(msg: Record<string, unknown>): Promise<void> {
  switch (msg.op) {
    case 'rpc-result':
    case 'rpc-error':
      client.settle(msg);
      return;
    case 'update':
      client.deliver(String(msg.data));
      return;
    case 'call':
      follow(await calls.call({ userId: BigInt(String(msg.userId)), accessHash: BigInt(String(msg.accessHash)) }));
      send('reply', { id: msg.id });
      return;
    case 'stats':
      send('reply', { id: msg.id, stats: call?.getStats() });
      return;
    case 'heard': {
      const since = Number(msg.since ?? 0);
      send('reply', { id: msg.id, windows: windows.filter((w) => w.t > since).map((w) => [w.t, w.ok ? 1 : 0]) });
      return;
    }
    case 'hangup': {
      const info = call && call.state !== 'ended' ? await call.hangup() : call?.ended;
      send('reply', { id: msg.id, reason: info?.reason, by: info?.by });
      return;
    }
    case 'exit':
      await calls.stop();
      process.exit(0);
  }
}

createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  handle(msg).catch((err: unknown) => send('reply', { id: msg.id, error: String(err) }));
});
// The parent went away: end the call and exit (no orphan in the namespace).
process.stdin.on('end', () => void calls.stop().finally(() => process.exit(0)));
// A hard bound on the child's life whatever the parent does.
setTimeout(() => process.exit(3), 5 * 60_000).unref();
await calls.start();
send('ready', { pid: process.pid });
