/** Ctrl-C in the CLI, in process: `main()` with an interrupt source the test controls. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/cli.js';

function io(): CliIo & { out: string[]; interrupt(): void } {
  const out: string[] = [];
  const interrupts = new EventEmitter();
  const env = { ...process.env };
  for (const name of ['API_ID', 'API_HASH', 'SESSION', 'TARGET']) delete env[name];
  return {
    out,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { isTTY: false, write: () => true },
    env,
    interrupts: interrupts as unknown as NonNullable<CliIo['interrupts']>,
    interrupt: () => interrupts.emit('SIGINT'),
  };
}

describe('tgcall and Ctrl-C', { timeout: 20_000 }, () => {
  it('Ctrl-C during a call hangs it up; the command ends with exit code 0', async () => {
    const cli = io();
    const done = main(['call', '--fake', '--tone', '500', '--seconds', '30'], cli);
    for (let i = 0; i < 100 && !cli.out.join('').includes('connected:'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(cli.out.join('')).toContain('connected:');
    const interruptedAt = Date.now();
    cli.interrupt();
    expect(await done).toBe(0);
    expect(Date.now() - interruptedAt).toBeLessThan(3_000);
    expect(cli.out.join('')).toContain('ended: hangup by local');
  });

  it('Ctrl-C while waiting for a call stops waiting; exit code 1 (no call was answered)', async () => {
    const cli = io();
    const done = main(['answer', '--fake'], cli);
    for (let i = 0; i < 100 && !cli.out.join('').includes('waiting for a call'); i++) await new Promise((r) => setTimeout(r, 10));
    cli.interrupt();
    expect(await done).toBe(1);
    expect(cli.out.join('')).toContain('interrupted');
  });
});
