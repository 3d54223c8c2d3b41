import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSignalingPayload, INFLATE_LIMIT, MAX_INFLATED_PAYLOAD, TokenBucket } from '../../src/crypto/index.js';
import { bomb } from '../helpers/hostile-signaling.js';

const text = (s: string) => new TextEncoder().encode(s);
const json = text('{"@type":"Candidates","candidates":[]}');

describe('signaling payload decoding with an inflate budget (§5.5)', () => {
  it('passes plain payloads through and inflates gzip and zlib ones, charging what they cost', () => {
    const budget = new TokenBucket(INFLATE_LIMIT);
    expect(decodeSignalingPayload(json, budget, 0)).toEqual({ ok: true, payload: json });
    expect(budget.available(0)).toBe(INFLATE_LIMIT.capacity); // plain payloads are free
    for (const compressed of [new Uint8Array(gzipSync(json)), new Uint8Array(deflateSync(json))]) {
      const result = decodeSignalingPayload(compressed, budget, 0);
      expect(result.ok && new TextDecoder().decode(result.payload)).toBe(new TextDecoder().decode(json));
    }
    expect(budget.available(0)).toBeGreaterThan(INFLATE_LIMIT.capacity - 1000);
  });

  it('gives a reason for every payload it does not deliver, and never throws', () => {
    const budget = new TokenBucket(INFLATE_LIMIT);
    const reason = (p: Uint8Array) => {
      const r = decodeSignalingPayload(p, budget, 0);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason(new Uint8Array(0))).toBe('empty');
    expect(reason(Uint8Array.from([0x1f, 0x8b, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe('corrupt'); // CM 9: no zlib call
    expect(budget.available(0)).toBe(INFLATE_LIMIT.capacity);
    expect(reason(new Uint8Array(gzipSync(new Uint8Array(0))))).toBe('empty');
    expect(reason(bomb('zlib', MAX_INFLATED_PAYLOAD + 1))).toBe('too-large');
    // that attempt was charged the whole cap: the next compressed payload waits for the refill
    expect(reason(new Uint8Array(deflateSync(json)))).toBe('budget');
    expect(decodeSignalingPayload(new Uint8Array(deflateSync(json)), budget, 3000).ok).toBe(true);
  });

  it('a garbage zlib stream is corrupt, and charged as a full attempt', () => {
    const budget = new TokenBucket(INFLATE_LIMIT);
    const garbage = Uint8Array.from([0x78, 0x9c, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeSignalingPayload(garbage, budget, 0)).toEqual({ ok: false, reason: 'corrupt' });
    expect(budget.available(0)).toBeLessThanOrEqual(INFLATE_LIMIT.capacity - MAX_INFLATED_PAYLOAD);
  });
});
