/**
 * The `tgcall` command line: `demo`, `call`, `answer`, `check`. `main()` takes argv and an
 * environment and resolves with the exit code (0 the call(s) connected and ended, 1 a call failed,
 * 2 bad usage); it never calls `process.exit`, so a finished command proves every handle was released.
 */
import { readFileSync } from 'node:fs';
import type { Call } from '../call/call.js';
import type { TelegramCalls, TelegramCallsOptions } from '../call/telegram-calls.js';
import { TgCallError } from '../errors.js';
import { consoleLogger } from '../logger.js';
import { parseCommand, HELP, type AudioArgs, type Command, type CommonArgs } from './args.js';
import { checkCommand } from './check-command.js';
import { runDemo } from './demo.js';
import { createFakeWorld } from './fake-world.js';
import type { ProgressOutput } from './progress.js';
import { runCall, type CallReport } from './run-call.js';
import { credentialsFromEnv, openTelegramAccount, UsageError } from './telegram-account.js';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressOutput;
  readonly env: NodeJS.ProcessEnv;
  /** Where Ctrl-C comes from (default: none). */
  readonly interrupts?: { on(event: 'SIGINT', fn: () => void): unknown; off(event: 'SIGINT', fn: () => void): unknown };
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line: string): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (e) {
    err(`tgcall: ${(e as Error).message}`);
    return 2;
  }
  try {
    switch (command.name) {
      case 'help':
        out(HELP[command.topic ?? 'main']);
        return 0;
      case 'version':
        out(packageVersion());
        return 0;
      case 'demo':
        return await demo(command, io, out);
      case 'call':
        return await withAccount(command, io, out, 'answer', (calls, peerName) =>
          placeCall(calls, command.user ?? peerName, command, io, out),
        );
      case 'answer':
        return await withAccount(command, io, out, 'call', (calls) => answerCalls(calls, command, io, out));
      case 'check':
        return await checkCommand(command, { env: io.env, out, err });
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`tgcall: ${e.message}`);
      return 2;
    }
    const code = e instanceof TgCallError ? ` [${e.code}]` : '';
    err(`tgcall: ${(e as Error).message}${code}`);
    return 1;
  }
}

async function demo(command: Extract<Command, { name: 'demo' }>, io: CliIo, out: (line: string) => void): Promise<number> {
  const credentials = command.fake ? undefined : credentialsFromEnv(io.env);
  if (!credentials) {
    const result = await runDemo({
      seconds: command.seconds,
      outDir: command.out,
      print: out,
      ...(command.logLevel ? { logger: consoleLogger(command.logLevel) } : {}),
    });
    return result.ok ? 0 : 1;
  }
  // a real account: call TARGET, or wait for a call, and say 440 Hz
  const target = io.env.TARGET?.trim();
  const audio: AudioArgs = { tone: 440, seconds: command.seconds < 10 ? 10 : command.seconds };
  return withAccount(command, io, out, 'answer', (calls) =>
    target
      ? placeCall(calls, target, { ...audio, record: `${command.out}/reply.wav` }, io, out)
      : answerCalls(calls, { ...audio, count: 1, record: `${command.out}/caller.wav` }, io, out),
  );
}

/** Opens the configured real account, or the fake world, runs `body`, and always closes it. */
async function withAccount(
  command: CommonArgs,
  io: CliIo,
  out: (line: string) => void,
  fakePeerRole: 'answer' | 'call',
  body: (calls: TelegramCalls, peerName: string) => Promise<number>,
): Promise<number> {
  const options: TelegramCallsOptions = command.logLevel ? { logger: consoleLogger(command.logLevel) } : {};
  const credentials = command.fake ? undefined : credentialsFromEnv(io.env);
  if (credentials) {
    const account = await openTelegramAccount(credentials, options);
    out(`logged in as ${account.name}`);
    try {
      return await body(account.calls, '');
    } finally {
      await account.close();
    }
  }
  out(
    fakePeerRole === 'answer'
      ? 'no API_ID/API_HASH/SESSION: using the built-in fake Telegram; @peer answers and says 880 Hz'
      : 'no API_ID/API_HASH/SESSION: using the built-in fake Telegram; @peer will call you and say 880 Hz',
  );
  const world = await createFakeWorld({ role: fakePeerRole, seconds: 5, frequency: 880 }, options);
  try {
    return await body(world.calls, world.peerName);
  } finally {
    await world.close();
  }
}

async function placeCall(
  calls: TelegramCalls,
  user: string,
  audio: AudioArgs,
  io: CliIo,
  out: (line: string) => void,
): Promise<number> {
  if (!user) throw new UsageError('call needs a user: tgcall call @username');
  const target = /^\d+$/.test(user) ? BigInt(user) : user;
  out(`calling ${user}`);
  const call = await calls.call(target);
  call.once('ringing', () => out('ringing'));
  const report = await withInterrupt(io, [call], () =>
    runCall(call, { label: 'call', ...audio, seconds: audio.seconds ?? (audio.play ? undefined : 30), progress: io.stderr, onEvent: out }),
  );
  return summarize(report, audio, out) ? 0 : 1;
}

async function answerCalls(
  calls: TelegramCalls,
  options: AudioArgs & { readonly count: number },
  io: CliIo,
  out: (line: string) => void,
): Promise<number> {
  let failures = 0;
  for (let i = 1; i <= options.count; i += 1) {
    out(options.count > 1 ? `waiting for call ${i} of ${options.count}` : 'waiting for a call');
    const call = await withInterrupt(io, [], (signal) => nextIncoming(calls, signal));
    if (!call) {
      out('interrupted');
      failures += 1;
      break;
    }
    out(`incoming call from ${call.peerUserId}, answering`);
    call.accept().catch(() => undefined);
    const record = options.record && i > 1 ? options.record.replace(/(\.wav)?$/i, `-${i}.wav`) : options.record;
    const report = await withInterrupt(io, [call], () =>
      runCall(call, { label: `call ${i}`, ...options, ...(record ? { record } : {}), progress: io.stderr, onEvent: out }),
    );
    if (!summarize(report, { ...options, ...(record ? { record } : {}) }, out)) failures += 1;
  }
  return failures === 0 ? 0 : 1;
}

/** The next incoming call, or undefined when interrupted. */
function nextIncoming(calls: TelegramCalls, signal?: AbortSignal): Promise<Call | undefined> {
  return new Promise((resolve) => {
    const onCall = (call: Call): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve(call);
    };
    const onAbort = (): void => {
      calls.off('incoming', onCall);
      resolve(undefined);
    };
    calls.once('incoming', onCall);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `body`; Ctrl-C hangs up `calls` (and stops waiting for a call). The handler is removed
 * afterwards so nothing keeps the process alive.
 */
async function withInterrupt<T>(io: CliIo, calls: readonly Call[], body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onInterrupt = (): void => {
    abort.abort();
    for (const call of calls) void call.hangup().catch(() => undefined);
  };
  io.interrupts?.on('SIGINT', onInterrupt);
  try {
    // a running call ends through its hangup; waiting for a call ends through the signal
    return await body(abort.signal);
  } finally {
    io.interrupts?.off('SIGINT', onInterrupt);
  }
}

function summarize(report: CallReport, audio: AudioArgs, out: (line: string) => void): boolean {
  if (!report.connected) {
    const why = report.end.error ? `${report.end.error.code}: ${report.end.error.message}` : `${report.end.reason} by ${report.end.by}`;
    out(`the call did not connect (${why})`);
    return false;
  }
  if (audio.record && report.recordedMs !== undefined) out(`recorded ${(report.recordedMs / 1000).toFixed(1)} s to ${audio.record}`);
  return report.end.error === undefined;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
