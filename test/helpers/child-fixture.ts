/**
 * Runs a TypeScript fixture in a child process (`node --import tsx`) and waits for it to exit by
 * itself: the tests of process hygiene (nothing left keeps a process alive, nothing aborts it).
 * `boundMs` only bounds the test: a child still running then is killed and `killed` says so.
 */
import { spawn } from 'node:child_process';

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The guard fired: the child was still running after `boundMs`. */
  readonly killed: boolean;
  /** When stdout was last written to, and when the child exited (Date.now()). */
  readonly lastLineAt: number;
  readonly exitedAt: number;
}

export async function runChildFixture(script: string, boundMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let lastLineAt = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    lastLineAt = Date.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, boundMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  const exitedAt = Date.now();
  clearTimeout(guard);
  return { code, signal, stdout, stderr, killed, lastLineAt, exitedAt };
}

/** The last line of a child's stdout, parsed as JSON (the fixtures print one report line last). */
export function lastJsonLine<T>(run: ChildRun): T {
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}
