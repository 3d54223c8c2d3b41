/**
 * The CLI and the examples as a user runs them: child processes against the built-in fake
 * Telegram (no account variables in their environment), each of which must finish by itself —
 * no process.exit — with the right exit code, output and recordings.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneShareOf } from '../../src/cli/demo.js';
import { readWavFile } from '../../src/media/index.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry point; kills it (and fails) if it does not end by itself in time. */
function run(script: string, args: string[], cwd: string, timeoutMs = 40_000): Promise<Run> {
  const env = { ...process.env };
  for (const name of ['API_ID', 'API_HASH', 'SESSION', 'TARGET', 'VERBOSE']) delete env[name];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(tsx, [script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tgcall-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tgcall CLI and examples on the fake Telegram', { timeout: 60_000 }, () => {
  it('tgcall demo: equal emoji, both tones heard, both recordings written, exit 0', async () => {
    const out = join(dir, 'demo');
    const r = await run(cli, ['demo', '--seconds', '2', '--out', out], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^emoji +alice (\S+ ){4} +bob (\S+ ){4} +match$/m);
    expect(r.stdout).toMatch(/^setup +\d+ ms from phone.requestCall to both connected/m);
    expect(r.stdout).toContain('demo ok');
    expect(toneShareOf(await readWavFile(join(out, 'alice-heard.wav')), 880)).toBeGreaterThanOrEqual(0.9);
    expect(toneShareOf(await readWavFile(join(out, 'bob-heard.wav')), 440)).toBeGreaterThanOrEqual(0.9);
  });

  it('tgcall call and tgcall answer place and answer calls and record the other side', async () => {
    const [placed, answered] = await Promise.all([
      run(cli, ['call', '--fake', '--tone', '600', '--record', join(dir, 'call.wav'), '--seconds', '2'], dir),
      run(cli, ['answer', '--fake', '--record', join(dir, 'answer.wav'), '--seconds', '2'], dir),
    ]);
    expect(placed.code, placed.stdout + placed.stderr).toBe(0);
    expect(placed.stdout).toMatch(/call: emoji (\S+ ){3}\S+$/m);
    expect(placed.stdout).toContain('call: ended: hangup by local');
    // the progress line (not a terminal: printed as plain lines) ends with the final state
    expect(placed.stderr).toMatch(/^call ended +\d\d:\d\d {2}in /m);
    expect(toneShareOf(await readWavFile(join(dir, 'call.wav')), 880)).toBeGreaterThanOrEqual(0.9);

    expect(answered.code, answered.stdout + answered.stderr).toBe(0);
    expect(answered.stdout).toContain('incoming call from 1002, answering');
    expect(toneShareOf(await readWavFile(join(dir, 'answer.wav')), 880)).toBeGreaterThanOrEqual(0.9);
  });

  it('bad usage exits 2 with a message; --help exits 0', async () => {
    const [bad, help] = await Promise.all([run(cli, ['call', '@x', '--bogus'], dir), run(cli, ['answer', '--help'], dir)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tgcall: .*--bogus/m);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tgcall answer');
  });

  it('the examples run against the fake Telegram and exit by themselves', async () => {
    const cwd = join(dir, 'examples');
    await import('node:fs/promises').then((fs) => fs.mkdir(cwd, { recursive: true }));
    const example = (name: string) => join(root, 'examples', `${name}.ts`);
    const [place, answer, agent] = await Promise.all([
      run(example('place-call'), [], cwd),
      run(example('answer-call'), [], cwd),
      run(example('voice-agent'), [], cwd),
    ]);
    expect(place.code, place.stdout + place.stderr).toBe(0);
    expect(place.stdout).toMatch(/compare these with the other phone: (\S+ ){3}\S+/);
    expect(place.stdout).toMatch(/ended: hangup after \d+ s; recorded \d+\.\d s/);
    expect(existsSync(join(cwd, 'recordings/answer.wav'))).toBe(true);

    expect(answer.code, answer.stdout + answer.stderr).toBe(0);
    expect(answer.stdout).toMatch(/ended: hangup by remote; recorded \d+\.\d s/);

    expect(agent.code, agent.stdout + agent.stderr).toBe(0);
    // the fake caller talks in 1 s bursts for 6 s: the agent hears (and echoes) turns
    const turns = agent.stdout.match(/^turn \d+: heard \d+ ms of speech, replying$/gm) ?? [];
    expect(turns.length).toBeGreaterThanOrEqual(2);
  });
});
