/**
 * `tgcall check` end to end on the built-in fake Telegram (in process, through `main()`): both
 * variants pass with the report a user sees; a relay-only call with no relay fails at the step
 * that failed and skips the rest; missing variables are a usage message with exit code 2; and
 * with no route to Telegram it fails with TELEGRAM_UNREACHABLE, printing no session.
 */
import { describe, expect, it } from 'vitest';
import { fakeCheckAccounts } from '../../src/cli/check-accounts.js';
import type { CheckReport } from '../../src/cli/check-report.js';
import { formatCheckReport } from '../../src/cli/check-report.js';
import { runCheck } from '../../src/cli/check.js';
import { main, type CliIo } from '../../src/cli/cli.js';
import { isClosed, loopbackSession } from '../helpers/gramjs-session.js';
import { resourceBaseline, settled } from '../e2e/helpers.js';

const VARIABLES = ['API_ID', 'API_HASH', 'SESSION_A', 'SESSION_B', 'SESSION'];

function io(env: Record<string, string> = {}): CliIo & { text(): string; errors(): string } {
  const out: string[] = [];
  const err: string[] = [];
  const base = { ...process.env };
  for (const name of VARIABLES) delete base[name];
  return {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { isTTY: false, write: (t: string) => err.push(t) > 0 },
    env: { ...base, ...env },
    text: () => out.join(''),
    errors: () => err.join(''),
  };
}

const STEPS = ['set up both phones', 'A calls B', 'B rings', 'B answers, both connect', 'emoji equal', 'A -> B 440 Hz', 'B -> A 880 Hz', 'A hangs up, B hears it'];

describe('tgcall check on the fake Telegram', { timeout: 60_000 }, () => {
  it('both variants pass: every step PASS with its time, the relay-only call goes through the reflector', async () => {
    const baseline = resourceBaseline();
    const cli = io();
    expect(await main(['check', '--fake', '--seconds', '2'], cli), cli.text() + cli.errors()).toBe(0);
    const text = cli.text();
    expect(text).toMatch(/^tgcall check against the built-in fake Telegram/);
    expect(text).toMatch(/^ {2}PASS {2}log in A and B +\d+ ms {2}A @alice \(1001\), B @bob \(1002\)$/m);
    for (const title of ['call 1: as the server allows', 'call 2: relay only']) expect(text).toContain(title);
    for (const step of STEPS) expect(text.match(new RegExp(`^  PASS  ${step} +\\d+ ms`, 'gm')), step).toHaveLength(2);
    expect(text).toMatch(/^ {2}PASS {2}emoji equal +\d+ ms {2}(\S+ ){3}\S+$/m);
    expect(text).toMatch(/^ {2}PASS {2}path is a relay +\d+ ms {2}caller reflector, callee reflector$/m);
    expect(text).toMatch(/^ {2}PASS {2}B answers, both connect +\d+ ms {2}library version \d+\.\d+\.\d+/m);
    expect(text).toMatch(/^relay-only version \d+\.\d+\.\d+; path caller reflector via 127\.0\.0\.1:\d+/m);
    expect(text).not.toMatch(/FAIL|skip/);
    expect(text).toMatch(/^check passed in \d+\.\d s$/m);
    await settled(baseline);
  });

  it('--json --only relay-only: one variant, the report as JSON', async () => {
    const cli = io();
    expect(await main(['check', '--fake', '--only', 'relay-only', '--seconds', '1.5', '--json'], cli)).toBe(0);
    const report = JSON.parse(cli.text()) as CheckReport;
    expect(report).toMatchObject({ against: 'fake', ok: true, login: { status: 'pass' } });
    expect(report.variants.map((v) => v.variant)).toEqual(['relay-only']);
    const [relay] = report.variants;
    expect(relay!.paths).toMatchObject({ caller: { kind: 'reflector' }, callee: { kind: 'reflector' } });
    expect(relay!.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(relay!.steps.every((s) => s.status === 'pass' && typeof s.ms === 'number')).toBe(true);
  });

  it('relay only with no relay: the connect step fails with its code, the rest is skipped', async () => {
    const baseline = resourceBaseline();
    const report = await runCheck(() => fakeCheckAccounts({ reflector: false }), {
      variants: ['relay-only'],
      calls: { timeouts: { connectMs: 2_000 } },
    });
    expect(report.ok).toBe(false);
    const steps = report.variants[0]!.steps;
    expect(steps.map((s) => s.status)).toEqual(['pass', 'pass', 'pass', 'fail', 'skip', 'skip', 'skip', 'skip', 'skip']);
    expect(steps[3]).toMatchObject({ name: 'B answers, both connect', code: 'CONNECTION_LOST' });
    expect(formatCheckReport(report).at(-1)).toMatch(/^check FAILED in \d+\.\d s: relay-only: B answers, both connect \[CONNECTION_LOST\]$/);
    await settled(baseline);
  });
});

describe('tgcall check without an account or a route', { timeout: 30_000 }, () => {
  it('no variables: a usage message naming all four, exit 2, nothing run', async () => {
    const cli = io();
    expect(await main(['check'], cli)).toBe(2);
    expect(cli.errors()).toMatch(/^tgcall check: API_ID, API_HASH, SESSION_A, SESSION_B not set/);
    expect(cli.errors()).toContain('--fake');
    expect(cli.text()).toBe('');
  });

  it('some variables: names the missing ones, exit 2', async () => {
    const cli = io({ API_ID: '1', API_HASH: 'x', SESSION_A: 'secret-a' });
    expect(await main(['check'], cli)).toBe(2);
    expect(cli.errors()).toMatch(/^tgcall check: SESSION_B not set/);
    expect(cli.errors()).not.toContain('secret-a');
  });

  it('no route to Telegram: FAIL log in with TELEGRAM_UNREACHABLE, exit 1, no session printed', async (ctx) => {
    const host = '127.77.13.1';
    if (!(await isClosed(host))) return ctx.skip(`something listens on ${host}:80`);
    const [a, b] = [loopbackSession(host), loopbackSession(host)];
    const cli = io({ API_ID: '12345', API_HASH: '0123456789abcdef0123456789abcdef', SESSION_A: a, SESSION_B: b });
    expect(await main(['check'], cli)).toBe(1);
    const text = cli.text();
    expect(text).toMatch(/^ {2}FAIL {2}log in A and B +\d+ ms {2}TELEGRAM_UNREACHABLE: cannot connect to Telegram/m);
    expect(text).toMatch(/^check FAILED in \d+\.\d s: log in A and B \[TELEGRAM_UNREACHABLE\]$/m);
    for (const session of [a, b]) expect(text + cli.errors()).not.toContain(session.slice(1, 30));
  });
});
