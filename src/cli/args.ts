/** Command-line parsing and help for `tgcall` (pure: argv in, a command or a UsageError out). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CheckVariant } from './check-report.js';
import { UsageError } from './telegram-account.js';

export interface AudioArgs {
  readonly play?: string;
  readonly tone?: number;
  readonly record?: string;
  readonly seconds?: number;
}

export interface CommonArgs {
  readonly fake: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | undefined;
}

export type Command =
  | { readonly name: 'help'; readonly topic?: CommandName }
  | { readonly name: 'version' }
  | ({ readonly name: 'demo'; readonly seconds: number; readonly out: string } & CommonArgs)
  | ({ readonly name: 'call'; readonly user: string | undefined } & AudioArgs & CommonArgs)
  | ({ readonly name: 'answer'; readonly count: number } & AudioArgs & CommonArgs)
  | ({ readonly name: 'check'; readonly seconds: number; readonly only: CheckVariant | undefined; readonly json: boolean } & CommonArgs);

export type CommandName = 'demo' | 'call' | 'answer' | 'check';

const ACCOUNT_HELP = `Account: with API_ID, API_HASH and SESSION set (a GramJS StringSession; make one with
\`npx tsx examples/login.ts\`) tgcall uses that Telegram account. Without them, or with --fake, it
uses the built-in fake Telegram, where the other phone (@peer) answers or calls you and says 880 Hz.`;

export const HELP: Record<'main' | CommandName, string> = {
  main: `tgcall — Telegram 1:1 voice calls from Node.js

Usage:
  tgcall demo                       a full call between two fake accounts in this process
  tgcall call <user> [options]      place a call (@username, phone or user id)
  tgcall answer [options]           wait for calls and answer them
  tgcall check [--fake]             check real calls: account A calls account B (npm run check:telegram)
  tgcall <command> --help           options of a command
  tgcall --version

${ACCOUNT_HELP}

Exit codes: 0 the call(s) connected and ended, 1 a call failed, 2 bad usage.`,
  check: `tgcall check [--fake] [--only p2p|relay-only] [--seconds N] [--json] [--verbose]

Checks real calls between two of your accounts: A calls B, B answers by itself, both phones
connect, the emoji are equal, A says 440 Hz and B 880 Hz and each must hear the other, A hangs
up and B hears it. Twice: as the server allows (p2p when possible), then relay only (both phones
with relayOnly: TURN or a Telegram reflector). Prints each step with PASS/FAIL and its time, the
negotiated library version and the path each call took.

Needs API_ID, API_HASH (https://my.telegram.org) and SESSION_A, SESSION_B: GramJS string
sessions of two different accounts (make each with \`npx tsx examples/login.ts\`). A finds B by
B's username, else among A's contacts. Sessions are never printed.

  --fake        run the same check against the built-in fake Telegram (no account needed)
  --only V      run one variant: p2p or relay-only (default both)
  --seconds N   seconds of tone each way (default 3)
  --json        print the report as JSON instead of lines
  --verbose     log the library's debug records to stderr

Exit codes: 0 every step passed, 1 a step failed (no route to Telegram: TELEGRAM_UNREACHABLE,
within seconds), 2 bad usage or a variable missing.`,
  demo: `tgcall demo [--seconds N] [--out DIR] [--verbose]

Two accounts on the built-in fake Telegram call each other in this process: real DH, real
encrypted signaling, real WebRTC on loopback, real Opus. Alice says 440 Hz, Bob 880 Hz. Prints
both sides' emoji, the setup time and how well each heard the other; writes both recordings.

With API_ID, API_HASH and SESSION set it uses your account instead: it calls TARGET (a username,
phone or id) when set, else waits for a call, and says 440 Hz.

  --seconds N   how long the call lasts (default 3)
  --out DIR     where the recordings go (default ./recordings)
  --verbose     log the library's debug records to stderr`,
  call: `tgcall call <user> [--play FILE.wav | --tone HZ] [--record FILE.wav] [--seconds N]

Calls <user> (@username, phone number or user id), shows the emoji and a progress line with the
state, the duration and both audio levels, and hangs up after --seconds, when --play is done, or
when the other side hangs up. Ctrl-C hangs up.

  --play FILE     say a WAV file (any common rate; converted to 48 kHz mono)
  --tone HZ       say a continuous tone instead
  --record FILE   record the other side (WAV, 48 kHz mono)
  --seconds N     hang up after N connected seconds (default: the file's length + 1 s, else 30)
  --fake          use the built-in fake Telegram even when an account is configured
  --verbose       log the library's debug records to stderr

${ACCOUNT_HELP}`,
  answer: `tgcall answer [--play FILE.wav | --tone HZ] [--record FILE.wav] [--seconds N] [--count N]

Waits for incoming calls and answers them, one at a time (others get busy): says the file or
tone, records the caller, shows the emoji and a progress line. Ctrl-C hangs up and stops.

  --play FILE     say a WAV file to each caller
  --tone HZ       say a continuous tone instead
  --record FILE   record each caller (FILE, then FILE-2.wav, FILE-3.wav, …)
  --seconds N     hang up after N connected seconds (default: the file's length + 1 s, else when the
                  caller hangs up)
  --count N       stop after N calls (default 1)
  --fake          use the built-in fake Telegram (the fake @peer calls you)
  --verbose       log the library's debug records to stderr

${ACCOUNT_HELP}`,
};

export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !isCommandName(topic)) throw new UsageError(`unknown command "${topic}"`);
    return topic ? { name: 'help', topic } : { name: 'help' };
  }
  if (first === '--version' || first === '-v') return { name: 'version' };
  if (!isCommandName(first)) throw new UsageError(`unknown command "${first}" (try tgcall --help)`);
  if (rest.includes('--help') || rest.includes('-h')) return { name: 'help', topic: first };

  const { values, positionals } = parse(rest, {
    play: { type: 'string' },
    tone: { type: 'string' },
    record: { type: 'string' },
    seconds: { type: 'string' },
    count: { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
    fake: { type: 'boolean' },
    verbose: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const common: CommonArgs = { fake: values.fake === true, logLevel: values.verbose ? 'debug' : undefined };
  const allow = (names: readonly string[]): void => {
    for (const key of Object.keys(values)) {
      if (!names.includes(key)) throw new UsageError(`${first} does not take --${key}`);
    }
  };

  if (first === 'demo') {
    allow(['seconds', 'out', 'verbose', 'fake']);
    if (positionals.length > 0) throw new UsageError(`demo takes no arguments, got "${positionals[0]}"`);
    return { name: 'demo', seconds: positive(values.seconds, 'seconds') ?? 3, out: values.out ?? 'recordings', ...common };
  }
  if (first === 'check') {
    allow(['fake', 'only', 'seconds', 'json', 'verbose']);
    if (positionals.length > 0) throw new UsageError(`check takes no arguments, got "${positionals[0]}"`);
    const only = values.only;
    if (only !== undefined && only !== 'p2p' && only !== 'relay-only') throw new UsageError(`--only must be p2p or relay-only, got "${only}"`);
    return { name: 'check', seconds: positive(values.seconds, 'seconds') ?? 3, only, json: values.json === true, ...common };
  }
  const audio = audioArgs(values);
  if (first === 'call') {
    allow(['play', 'tone', 'record', 'seconds', 'fake', 'verbose']);
    if (positionals.length > 1) throw new UsageError(`call takes one user, got ${positionals.length}`);
    return { name: 'call', user: positionals[0], ...audio, ...common };
  }
  allow(['play', 'tone', 'record', 'seconds', 'count', 'fake', 'verbose']);
  if (positionals.length > 0) throw new UsageError(`answer takes no arguments, got "${positionals[0]}"`);
  const count = positive(values.count, 'count') ?? 1;
  if (!Number.isInteger(count)) throw new UsageError('--count must be a whole number');
  return { name: 'answer', count, ...audio, ...common };
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as {
      values: Record<string, string | boolean | undefined> & {
        play?: string;
        tone?: string;
        record?: string;
        seconds?: string;
        count?: string;
        out?: string;
        only?: string;
        fake?: boolean;
        verbose?: boolean;
        json?: boolean;
      };
      positionals: string[];
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function audioArgs(values: { play?: string; tone?: string; record?: string; seconds?: string }): AudioArgs {
  if (values.play !== undefined && values.tone !== undefined) throw new UsageError('--play and --tone exclude each other');
  const tone = positive(values.tone, 'tone');
  if (tone !== undefined && (tone < 20 || tone > 20000)) throw new UsageError('--tone must be between 20 and 20000 Hz');
  const seconds = positive(values.seconds, 'seconds');
  return {
    ...(values.play !== undefined ? { play: values.play } : {}),
    ...(tone !== undefined ? { tone } : {}),
    ...(values.record !== undefined ? { record: values.record } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
  };
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function isCommandName(name: string): name is CommandName {
  return name === 'demo' || name === 'call' || name === 'answer' || name === 'check';
}
