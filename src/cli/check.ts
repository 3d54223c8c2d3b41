/**
 * `tgcall check`: account A calls account B, B answers by itself, and the call is checked step by
 * step — it rings, both sides connect, the emoji are equal, a tone is heard each way, the hang-up
 * reaches B — once as the server allows and once relay-only. The same code runs against real
 * Telegram (two accounts) and against the built-in fake (`CheckAccounts`, check-accounts.ts).
 */
import type { Call } from '../call/call.js';
import type { CallTarget, TelegramCalls, TelegramCallsOptions } from '../call/telegram-calls.js';
import { TgCallError } from '../errors.js';
import { toneFrames } from '../media/tone.js';
import type { CheckReport, CheckStep, CheckVariant, CheckVariantReport } from './check-report.js';
import { judgeTone, type JudgedFrame, type ToneHeard } from './tone-judge.js';

/** Two logged-in accounts, A (the caller) and B (the callee). */
export interface CheckAccounts {
  readonly against: 'fake' | 'telegram';
  /** "@a (1), @b (2)": who was logged in, for the report. */
  readonly names: string;
  /** New `TelegramCalls` for both accounts with `options` (one pair per variant), and whom A calls. */
  open(options: TelegramCallsOptions): Promise<CheckPair>;
  close(): Promise<void>;
}

export interface CheckPair {
  readonly a: TelegramCalls;
  readonly b: TelegramCalls;
  /** B, as A calls it. */
  readonly target: CallTarget;
  close(): Promise<void>;
}

export interface CheckOptions {
  readonly variants?: readonly CheckVariant[];
  /** Seconds of tone each way. Default 3. */
  readonly seconds?: number;
  /** Options for every `TelegramCalls` (logger, bindAddress, …); `relayOnly` is set per variant. */
  readonly calls?: TelegramCallsOptions;
  /** Each step as it finishes, and each variant as it starts. */
  readonly onStep?: (variant: CheckVariant | 'login', step: CheckStep) => void;
  readonly onVariant?: (variant: CheckVariant) => void;
}

/**
 * A tone must dominate at least this share of the 100 ms windows of decoded audio (the tests'
 * rule), over at least `CHECK_MIN_DECODED_MS` of it. Concealment (late or lost packets) is
 * printed beside it, not judged: this asks whether the packets carry the other side's audio.
 */
export const CHECK_TONE_THRESHOLD = 0.9;
export const CHECK_MIN_DECODED_MS = 1_000;
const CALLER_HZ = 440;
const CALLEE_HZ = 880;
/** Bounds of each step: Telegram's own timeouts (call_receive_timeout_ms 20 s), plus margin. */
const LIMITS = { place: 20_000, ring: 25_000, connect: 35_000, hangup: 10_000 } as const;

/**
 * Logs in with `connect()`, runs each variant, and always closes what it opened. Never throws:
 * every failure is a failed step in the report.
 */
export async function runCheck(connect: () => Promise<CheckAccounts>, options: CheckOptions = {}): Promise<CheckReport> {
  const startedAt = performance.now();
  const variants: CheckVariantReport[] = [];
  let accounts: CheckAccounts | undefined;
  const login = await timed('log in A and B', async () => {
    accounts = await connect();
    return accounts.names;
  });
  options.onStep?.('login', login);
  const against = accounts?.against ?? 'telegram';
  try {
    for (const variant of accounts ? (options.variants ?? ['p2p', 'relay-only']) : []) {
      options.onVariant?.(variant);
      variants.push(await runVariant(accounts!, variant, options));
    }
  } finally {
    await accounts?.close().catch(() => undefined);
  }
  const ok = login.status === 'pass' && variants.length > 0 && variants.every((v) => v.steps.every((s) => s.status === 'pass'));
  return { against, login, variants, ok, totalMs: performance.now() - startedAt };
}

async function runVariant(accounts: CheckAccounts, variant: CheckVariant, options: CheckOptions): Promise<CheckVariantReport> {
  const steps: CheckStep[] = [];
  let version: string | undefined;
  let paths: CheckVariantReport['paths'];
  let failed = false;
  let connected = false;
  /**
   * Runs `body` as the next step, or skips it when what it needs is missing: by default every
   * earlier step passed; the checks of a connected call need only the connection.
   */
  const step = async <T>(name: string, body: () => Promise<T>, runs: () => boolean = () => !failed): Promise<T | undefined> => {
    let value: T | undefined;
    const result: CheckStep = !runs()
      ? { name, status: 'skip' }
      : await timed(name, async () => {
          const out = await body();
          value = out;
          return typeof out === 'string' ? out : undefined;
        });
    if (result.status === 'fail') failed = true;
    steps.push(result);
    options.onStep?.(variant, result);
    return value;
  };

  const pair = await step('set up both phones', () =>
    accounts.open({ ...options.calls, ...(variant === 'relay-only' ? { relayOnly: true } : {}) }),
  );
  let caller: Call | undefined;
  let callee: Call | undefined;
  try {
    if (!pair) return { variant, steps };
    const aId = pair.a.userId;
    // B answers calls from A by itself; it leaves any other caller alone.
    const incoming = new Promise<Call>((resolve) => {
      const onIncoming = (call: Call): void => {
        if (aId !== undefined && call.peerUserId !== aId) return;
        pair.b.off('incoming', onIncoming);
        resolve(call);
      };
      pair.b.on('incoming', onIncoming);
    });
    caller = await step('A calls B', () => within(pair.a.call(pair.target), LIMITS.place, 'phone.requestCall to be answered'));
    callee = await step('B rings', () => within(incoming, LIMITS.ring, 'the call to ring at B'));
    await step('B answers, both connect', async () => {
      callee!.accept().catch(() => undefined);
      await within(Promise.all([caller!.whenConnected(), callee!.whenConnected()]), LIMITS.connect, 'both sides to connect');
      version = caller!.version;
      paths = pathsOf(caller!, callee!);
      if (callee!.version !== version) throw new Error(`versions differ: A ${version}, B ${callee!.version}`);
      connected = true;
      return `library version ${version ?? '?'}, media path up in ${Math.round(caller!.getStats().connectMs ?? 0)} ms`;
    });
    const ifConnected = (): boolean => connected;
    await step(
      'emoji equal',
      async () => {
        const [a, b] = [caller!.emoji?.emoji.join(' '), callee!.emoji?.emoji.join(' ')];
        if (!a || a !== b) throw new Error(`A ${a ?? '-'}, B ${b ?? '-'}`);
        return a;
      },
      ifConnected,
    );
    await step(
      variant === 'relay-only' ? 'path is a relay' : 'path',
      async () => {
        paths = pathsOf(caller!, callee!);
        const kinds = [paths.caller?.kind, paths.callee?.kind];
        if (variant === 'relay-only' && !kinds.every((k) => k === 'turn' || k === 'reflector')) {
          throw new Error(`caller ${kinds[0] ?? '?'}, callee ${kinds[1] ?? '?'}: not a relay`);
        }
        return `caller ${kinds[0] ?? '?'}, callee ${kinds[1] ?? '?'}`;
      },
      ifConnected,
    );
    // Both tones at once, as in a conversation; each direction is its own step.
    let heardAtA: ToneHeard = { share: 0, windows: 0, decodedMs: 0, concealedMs: 0 };
    await step(
      `A -> B ${CALLER_HZ} Hz`,
      async () => {
        const seconds = options.seconds ?? 3;
        const heard = Promise.all([hear(callee!, CALLER_HZ, seconds), hear(caller!, CALLEE_HZ, seconds)]);
        say(caller!, CALLER_HZ);
        say(callee!, CALLEE_HZ);
        const [atB, atA] = await heard;
        heardAtA = atA;
        return toneVerdict(atB, callee!);
      },
      ifConnected,
    );
    await step(`B -> A ${CALLEE_HZ} Hz`, () => Promise.resolve(toneVerdict(heardAtA, caller!)), ifConnected);
    await step(
      'A hangs up, B hears it',
      async () => {
        const [, end] = await within(Promise.all([caller!.hangup(), callee!.whenEnded()]), LIMITS.hangup, 'the end of the call at B');
        if (end.reason !== 'hangup' || end.by !== 'remote') throw new Error(`B ended: ${end.reason} by ${end.by}${end.error ? ` (${end.error.code})` : ''}`);
        return `B: ${end.reason} by ${end.by}`;
      },
      ifConnected,
    );
  } finally {
    await Promise.all([caller?.hangup().catch(() => undefined), callee?.hangup().catch(() => undefined)]);
    await pair?.close().catch(() => undefined);
  }
  return { variant, steps, ...(version !== undefined ? { version } : {}), ...(paths ? { paths } : {}) };
}

function pathsOf(caller: Call, callee: Call): NonNullable<CheckVariantReport['paths']> {
  const [a, b] = [caller.getStats().connection?.path, callee.getStats().connection?.path];
  return { ...(a ? { caller: a } : {}), ...(b ? { callee: b } : {}) };
}

/**
 * What the receiver heard, with its jitter buffer's counters; throws (fails the step) when the
 * tone was not carried.
 */
function toneVerdict(heard: ToneHeard, receiver: Call): string {
  const r = receiver.getStats().media.received;
  const text =
    `heard in ${Math.round(heard.share * 100)} % of 100 ms windows of ${(heard.decodedMs / 1000).toFixed(1)} s decoded ` +
    `(${heard.concealedMs} ms concealed); ${r.packets} packets, ${r.lost} lost, ${r.late} late`;
  if (heard.decodedMs < CHECK_MIN_DECODED_MS) throw new Error(`${text}: needs ${CHECK_MIN_DECODED_MS / 1000} s decoded`);
  if (heard.share < CHECK_TONE_THRESHOLD) throw new Error(`${text}: needs ${CHECK_TONE_THRESHOLD * 100} %`);
  return text;
}

/** Says a continuous tone while the call is connected (paced by the call's frame clock). */
function say(call: Call, frequency: number): void {
  void call.audio.play(toneFrames({ frequency, amplitude: 0.5, more: () => call.state === 'connected' })).catch(() => undefined);
}

/** Listens for `seconds` (bounded by a timer, not by the audio arriving) and judges the tone. */
async function hear(call: Call, frequency: number, seconds: number): Promise<ToneHeard> {
  const frames: JudgedFrame[] = [];
  const iterator = call.audio.frames()[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const stop = new Promise<'stop'>((resolve) => {
    timer = setTimeout(() => resolve('stop'), seconds * 1000);
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stop]);
      if (next === 'stop' || next.done) break;
      frames.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
  return judgeTone(frames, frequency);
}

/** Runs `body` as one step: pass with its detail and time, or fail with the error (and its code). */
async function timed(name: string, body: () => Promise<string | undefined>): Promise<CheckStep> {
  const startedAt = performance.now();
  try {
    const detail = await body();
    return { name, status: 'pass', ms: performance.now() - startedAt, ...(detail ? { detail } : {}) };
  } catch (err) {
    const code = err instanceof TgCallError ? err.code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    return { name, status: 'fail', ms: performance.now() - startedAt, detail: code ? `${code}: ${message}` : message, ...(code ? { code } : {}) };
  }
}

/** `promise`, or a rejection after `ms` saying what it waited for. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
