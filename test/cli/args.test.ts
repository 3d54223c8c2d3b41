import { describe, expect, it } from 'vitest';
import { HELP, parseCommand } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/telegram-account.js';

describe('tgcall command line parsing', () => {
  it('parses each command with its options', () => {
    expect(parseCommand(['demo'])).toEqual({ name: 'demo', seconds: 3, out: 'recordings', fake: false, logLevel: undefined });
    expect(parseCommand(['demo', '--seconds', '1.5', '--out', 'x', '--verbose'])).toMatchObject({ seconds: 1.5, out: 'x', logLevel: 'debug' });
    expect(parseCommand(['call', '@alice', '--play', 'a.wav', '--record', 'b.wav', '--seconds', '30'])).toEqual({
      name: 'call',
      user: '@alice',
      play: 'a.wav',
      record: 'b.wav',
      seconds: 30,
      fake: false,
      logLevel: undefined,
    });
    expect(parseCommand(['call', '--fake', '--tone', '440'])).toMatchObject({ name: 'call', user: undefined, tone: 440, fake: true });
    expect(parseCommand(['answer', '--count', '3', '--tone', '880'])).toMatchObject({ name: 'answer', count: 3, tone: 880 });
    expect(parseCommand(['check'])).toEqual({ name: 'check', seconds: 3, only: undefined, json: false, fake: false, logLevel: undefined });
    expect(parseCommand(['check', '--fake', '--only', 'relay-only', '--seconds', '5', '--json'])).toMatchObject({
      name: 'check',
      fake: true,
      only: 'relay-only',
      seconds: 5,
      json: true,
    });
  });

  it('gives help for the program and for every command', () => {
    expect(parseCommand([])).toEqual({ name: 'help' });
    expect(parseCommand(['--help'])).toEqual({ name: 'help' });
    expect(parseCommand(['help', 'call'])).toEqual({ name: 'help', topic: 'call' });
    for (const name of ['demo', 'call', 'answer', 'check'] as const) {
      expect(parseCommand([name, '--help'])).toEqual({ name: 'help', topic: name });
      expect(HELP[name]).toContain(`tgcall ${name}`);
    }
    expect(parseCommand(['--version'])).toEqual({ name: 'version' });
  });

  it.each([
    [['dial', '@x']],
    [['help', 'dial']],
    [['call', '@a', '@b']],
    [['call', '@a', '--bogus']],
    [['call', '@a', '--seconds', 'soon']],
    [['call', '@a', '--seconds', '-1']],
    [['call', '@a', '--play', 'a.wav', '--tone', '440']],
    [['call', '@a', '--tone', '5']],
    [['call', '@a', '--count', '2']],
    [['answer', '@a']],
    [['answer', '--count', '1.5']],
    [['demo', '--play', 'a.wav']],
    [['demo', 'extra']],
    [['check', '--only', 'direct']],
    [['check', '--tone', '440']],
    [['check', '@b']],
    [['call', '@a', '--json']],
  ])('rejects %j with a UsageError', (argv) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
  });
});
