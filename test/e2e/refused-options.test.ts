/**
 * Issue 15 defects 1 and 7: options and call targets that cannot work are refused where they are
 * given, with a typed error and a stable code, instead of ending a call later with a misleading
 * NETWORK_ERROR / BIND_FAILED (or an untyped TypeError).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/fake/index.js';
import { TelegramCalls, type TelegramCallsOptions } from '../../src/index.js';

let telegram: FakeTelegram | undefined;
afterEach(() => {
  telegram?.close();
  telegram = undefined;
});

function make(options: TelegramCallsOptions): TelegramCalls {
  telegram ??= new FakeTelegram({ seed: 3 });
  return new TelegramCalls(telegram.createClient(1n, 'me'), options);
}

function refusedWith(options: unknown, name: string, code: string): void {
  expect(() => make(options as TelegramCallsOptions)).toThrow(expect.objectContaining({ name, code }));
}

describe('TelegramCalls refuses options that cannot work', () => {
  it('timeouts: 0, negative, fractional or not a number', () => {
    refusedWith({ timeouts: { connectMs: 0 } }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ timeouts: { ringMs: -5 } }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ timeouts: { receiveMs: 0 } }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ timeouts: { connectMs: 1.5 } }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ timeouts: { connectMs: '20000' } }, 'CallSignalingError', 'INVALID_OPTION');
    expect(() => make({ timeouts: { connectMs: 1, ringMs: 24 * 3600 * 1000 } })).not.toThrow();
  });

  it('maxConcurrentCalls: 0, -1, fractional, NaN', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) refusedWith({ maxConcurrentCalls: bad }, 'CallSignalingError', 'INVALID_OPTION');
    expect(make({ maxConcurrentCalls: 4 }).maxConcurrentCalls).toBe(4);
  });

  it('codecWorkers: negative, fractional, a string, more than 64', () => {
    refusedWith({ codecWorkers: -1 }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ codecWorkers: 1.5 }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ codecWorkers: '2' }, 'CallSignalingError', 'INVALID_OPTION');
    refusedWith({ codecWorkers: 65 }, 'CallSignalingError', 'INVALID_OPTION');
    expect(() => make({ codecWorkers: 0 })).not.toThrow();
  });

  it('bindAddress: not an IP, empty, or not an address of this host', () => {
    refusedWith({ bindAddress: 'not-an-ip' }, 'TransportError', 'INVALID_BIND_ADDRESS');
    refusedWith({ bindAddress: '' }, 'TransportError', 'INVALID_BIND_ADDRESS');
    refusedWith({ bindAddress: 'localhost' }, 'TransportError', 'INVALID_BIND_ADDRESS');
    // TEST-NET-3 (RFC 5737) and the documentation prefix (RFC 3849): never a host's address.
    refusedWith({ bindAddress: '203.0.113.7' }, 'TransportError', 'INVALID_BIND_ADDRESS');
    refusedWith({ bindAddress: '2001:db8::7' }, 'TransportError', 'INVALID_BIND_ADDRESS');
    expect(() => make({ bindAddress: '127.0.0.1' })).not.toThrow();
    expect(() => make({ bindAddress: '0.0.0.0' })).not.toThrow();
  });

  it('portRange: malformed, reversed, out of 1..65535', () => {
    for (const bad of [{ begin: 0, end: 10 }, { begin: 5000, end: 4000 }, { begin: 1, end: 70000 }, { begin: 1.5, end: 3 }, null, 'x']) {
      refusedWith({ portRange: bad }, 'TransportError', 'INVALID_PORT_RANGE');
    }
  });

  it('maxConcurrentCalls is lowered to what portRange holds (one direct port per call on a bound address)', () => {
    expect(make({ bindAddress: '127.0.0.1', portRange: { begin: 40000, end: 40002 }, maxConcurrentCalls: 10 }).maxConcurrentCalls).toBe(3);
    expect(make({ bindAddress: '127.0.0.1', portRange: { begin: 40000, end: 40009 }, maxConcurrentCalls: 2 }).maxConcurrentCalls).toBe(2);
  });
});

describe('call() refuses targets that cannot be called, before any request', () => {
  it('null, undefined, malformed { userId }, out-of-range ids and hashes: USER_ID_INVALID', async () => {
    const calls = make({ bindAddress: '127.0.0.1' });
    const bad: unknown[] = [
      null,
      undefined,
      {},
      { userId: 5 },
      { userId: '5' },
      { userId: null },
      { userId: 5n, accessHash: 7 },
      { userId: 5n, accessHash: 1n << 63n },
      0n,
      -5n,
      1n << 63n,
      2n ** 64n,
      '99999999999999999999999',
      '',
      0,
      -1,
      2 ** 60,
      Symbol('x'),
      () => 5n,
    ];
    for (const target of bad) {
      await expect(calls.call(target as never), label(target)).rejects.toMatchObject({
        name: 'CallSignalingError',
        code: 'USER_ID_INVALID',
      });
    }
    // Nothing reached the server: each one was refused at the call site.
    expect(telegram!.requestLog).toEqual([]);
    await calls.stop();
  });
});

function label(value: unknown): string {
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
}
