/** dh-config-cache.ts: the DH group cached across calls (messages.getDhConfig version). */
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../../src/crypto/dh-config.js';
import { DhConfigCache } from '../../src/signaling/index.js';

describe('DhConfigCache', () => {
  const p = Buffer.from(fromHex(TELEGRAM_DH_PRIME_HEX));
  it('asks with version 0 until a valid group is cached, then reuses it', () => {
    const cache = new DhConfigCache();
    expect(cache.requestArgs()).toEqual({ version: 0, randomLength: 256 });
    expect(() => cache.apply({ kind: 'not-modified', random: new Uint8Array(256) })).toThrow(expect.objectContaining({ code: 'DH_CONFIG_MISSING' }));
    expect(() => cache.apply({ kind: 'config', g: 9, p, version: 4, random: new Uint8Array(256) })).toThrow(
      expect.objectContaining({ code: 'DH_BAD_GENERATOR' }),
    );
    expect(cache.requestArgs().version).toBe(0);
    const first = cache.apply({ kind: 'config', g: 3, p, version: 4, random: new Uint8Array(256).fill(1) });
    expect(cache.requestArgs().version).toBe(4);
    const again = cache.apply({ kind: 'not-modified', random: new Uint8Array(256).fill(2) });
    expect(again.params).toBe(first.params);
    expect(again.random[0]).toBe(2);
    expect(() => cache.apply({ kind: 'not-modified', random: new Uint8Array(32) })).toThrow(expect.objectContaining({ code: 'DH_BAD_RANDOM' }));
  });
});
