/**
 * The one guarded emit (src/safe-emit.ts) and `toError`: a throwing listener or logger never
 * escapes, never keeps the other listeners from running, and is reported on 'error' when someone
 * listens.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { callListener, safeEmit } from '../src/safe-emit.js';

interface Events {
  tick: [n: number];
  error: [error: Error];
}

function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (message, fields) => void lines.push(`${message}: ${String(fields?.error)}`),
    child: () => log,
  };
  return log;
}

const throwingLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => {
    throw new Error('logger bug');
  },
  child: () => throwingLogger,
};

let uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => void uncaught.push(err);
beforeEach(() => {
  uncaught = [];
  process.on('uncaughtException', onUncaught);
});
afterEach(() => {
  process.off('uncaughtException', onUncaught);
});

describe('safeEmit', () => {
  it('runs every listener even when one throws, logs it and forwards it to the error listeners', () => {
    const emitter = new EventEmitter<Events>();
    const lines: string[] = [];
    const calls: string[] = [];
    const errors: Error[] = [];
    emitter.on('tick', (n) => calls.push(`first ${n}`));
    emitter.on('tick', () => {
      throw new Error('host bug');
    });
    emitter.once('tick', (n) => calls.push(`once ${n}`));
    emitter.on('tick', (n) => calls.push(`last ${n}`));
    emitter.on('error', (err) => errors.push(err));
    safeEmit(emitter, recordingLogger(lines), 'tick', 1);
    safeEmit(emitter, recordingLogger(lines), 'tick', 2);
    expect(calls).toEqual(['first 1', 'once 1', 'last 1', 'first 2', 'last 2']);
    expect(errors.map((e) => e.message)).toEqual(['host bug', 'host bug']);
    expect(lines).toEqual(["a 'tick' listener threw: host bug", "a 'tick' listener threw: host bug"]);
  });

  it('never throws: no error listener, an unheard error, a throwing error listener, a throwing logger', () => {
    const emitter = new EventEmitter<Events>();
    emitter.on('tick', () => {
      throw new Error('host bug');
    });
    expect(() => safeEmit(emitter, throwingLogger, 'tick', 1)).not.toThrow();
    // a plain emit('error') without a listener would throw
    expect(() => safeEmit(emitter, throwingLogger, 'error', new Error('nobody listens'))).not.toThrow();
    const lines: string[] = [];
    emitter.on('error', () => {
      throw new Error('error listener bug');
    });
    expect(() => safeEmit(emitter, recordingLogger(lines), 'tick', 2)).not.toThrow();
    // logged once each, no loop between 'error' and itself
    expect(lines).toEqual(["a 'tick' listener threw: host bug", "a 'error' listener threw: error listener bug"]);
    expect(() => safeEmit(emitter, throwingLogger, 'tick', 3)).not.toThrow();
    expect(uncaught).toEqual([]);
  });

  it('callListener isolates one listener of a plain listener set', () => {
    const lines: string[] = [];
    const seen: number[] = [];
    const listeners = [
      (n: number) => void seen.push(n),
      () => {
        throw new Error('host bug');
      },
      (n: number) => void seen.push(n * 10),
    ];
    for (const l of listeners) callListener(l, [4], recordingLogger(lines), 'an update listener');
    for (const l of listeners) callListener(l, [5], throwingLogger, 'an update listener');
    expect(seen).toEqual([4, 40, 5, 50]);
    expect(lines).toEqual(['an update listener threw: host bug']);
  });
});

describe('toError', () => {
  it('never throws, whatever was thrown', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const unprintable = {
      toJSON() {
        throw new Error('no');
      },
      toString() {
        throw new Error('no');
      },
    };
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const error = new Error('kept');
    expect(toError(error)).toBe(error);
    expect(toError('text').message).toBe('text');
    expect(toError(12n).message).toBe('"12n"');
    expect(toError({ id: 5n }).message).toBe('{"id":"5n"}');
    expect(toError(circular).message).toBe('[object Object]');
    expect(toError(Object.create(null)).message).toBe('{}');
    expect(toError(unprintable).message).toBe('[a value that cannot be printed]');
    expect(toError(revoked.proxy)).toBeInstanceOf(Error);
    expect(toError(undefined).message).toBe('undefined');
    expect(toError(Symbol('s')).message).toBe('Symbol(s)');
  });
});
