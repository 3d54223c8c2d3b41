/** call-timeouts.ts: defaults and validation. */
import { describe, expect, it } from 'vitest';
import { resolveCallTimeouts } from '../../src/signaling/index.js';

describe('timeouts', () => {
  it('defaults and validation', () => {
    expect(resolveCallTimeouts(undefined)).toEqual({ receiveMs: 20_000, ringMs: 90_000, connectMs: 30_000, hangupMs: 5_000 });
    expect(resolveCallTimeouts({ ringMs: 5 }).ringMs).toBe(5);
    expect(() => resolveCallTimeouts({ ringMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => resolveCallTimeouts({ receiveMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
