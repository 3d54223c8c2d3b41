/**
 * The mux's STUN hot path: verified ICE checks (the only thing that may move a call to a new peer
 * address, network-change.md rule 7), the zero tie-breaker fix (reflector-shim.md §3), and the
 * XOR-MAPPED-ADDRESS rewrite of libjuice's responses. Every function refuses to sign what was not
 * already signed with our password.
 */
import { describe, expect, it } from 'vitest';
import { fixZeroTiebreaker, rewriteMappedAddress, verifyIceRequest } from '../../src/network/ice-check.js';
import {
  StunAttr,
  StunMethod,
  attributeValue,
  buildStun,
  decodeAddress,
  decodeU64,
  encodeAddress,
  encodeText,
  encodeU32,
  encodeU64,
  parseStun,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttributeInit,
  type StunMessage,
} from '../../src/network/stun.js';
import { loadJson } from '../helpers/vectors.js';

const LOCAL_UFRAG = 'Ab+1';
const LOCAL_PWD = 'our-ice-password-24chars';
const REMOTE_UFRAG = 'zQ/9';
const REMOTE_PWD = 'the-peers-ice-password-x';
const id = Uint8Array.from({ length: 12 }, (_, i) => i * 17);

function check(options: {
  username?: string | null;
  pwd?: string | null;
  role?: 'controlling' | 'controlled' | null;
  tiebreaker?: bigint;
  useCandidate?: boolean;
  priority?: number | null;
  fingerprint?: boolean;
  method?: number;
  cls?: 'request' | 'success';
}): Uint8Array {
  const attributes: StunAttributeInit[] = [];
  const username = options.username === undefined ? `${LOCAL_UFRAG}:${REMOTE_UFRAG}` : options.username;
  if (username !== null) attributes.push({ type: StunAttr.USERNAME, value: encodeText(username) });
  const role = options.role === undefined ? 'controlling' : options.role;
  if (role) {
    const type = role === 'controlling' ? StunAttr.ICE_CONTROLLING : StunAttr.ICE_CONTROLLED;
    attributes.push({ type, value: encodeU64(options.tiebreaker ?? 0x1122334455667788n) });
  }
  if (options.useCandidate) attributes.push({ type: StunAttr.USE_CANDIDATE, value: new Uint8Array(0) });
  const priority = options.priority === undefined ? 1853817087 : options.priority;
  if (priority !== null) attributes.push({ type: StunAttr.PRIORITY, value: encodeU32(priority) });
  const pwd = options.pwd === undefined ? LOCAL_PWD : options.pwd;
  return buildStun({
    method: options.method ?? StunMethod.BINDING,
    cls: options.cls ?? 'request',
    transactionId: id,
    attributes,
    ...(pwd === null ? {} : { integrityKey: pwd }),
    fingerprint: options.fingerprint ?? true,
  });
}

function reason(bytes: Uint8Array, ufrag = LOCAL_UFRAG, pwd = LOCAL_PWD): string {
  const r = verifyIceRequest(bytes, ufrag, pwd);
  return r.ok ? 'ok' : r.reason;
}

function parsed(bytes: Uint8Array): StunMessage {
  const m = parseStun(bytes);
  if (!m.ok) throw new Error(m.reason);
  return m;
}

describe('verifyIceRequest', () => {
  it('accepts a check signed with our password and returns what the mux needs', () => {
    expect(verifyIceRequest(check({ useCandidate: true }), LOCAL_UFRAG, LOCAL_PWD)).toEqual({
      ok: true,
      remoteUfrag: REMOTE_UFRAG,
      useCandidate: true,
      priority: 1853817087,
      role: 'controlling',
    });
    const plain = verifyIceRequest(check({ role: 'controlled', fingerprint: false }), LOCAL_UFRAG, LOCAL_PWD);
    expect(plain).toMatchObject({ ok: true, useCandidate: false, role: 'controlled' });
    expect(verifyIceRequest(check({ role: null }), LOCAL_UFRAG, LOCAL_PWD)).toMatchObject({ ok: true, role: undefined });
  });

  it('accepts RFC 5769 §2.1 as a check to "evtj" from "h6vY"', () => {
    const v = loadJson<{ shortTermPassword: string; request: { hex: string } }>('rfc5769.json');
    const r = verifyIceRequest(new Uint8Array(Buffer.from(v.request.hex, 'hex')), 'evtj', v.shortTermPassword);
    expect(r).toEqual({ ok: true, remoteUfrag: 'h6vY', useCandidate: false, priority: 0x6e0001ff, role: 'controlled' });
  });

  it('rejects a wrong password, and a check signed with the peer password (the wrong direction)', () => {
    expect(reason(check({}), LOCAL_UFRAG, 'our-ice-password-24charz')).toBe('bad-integrity');
    expect(reason(check({ pwd: REMOTE_PWD }))).toBe('bad-integrity');
    expect(reason(check({ pwd: '' }))).toBe('bad-integrity');
  });

  it('rejects a USERNAME that is not <our ufrag>:<their ufrag>', () => {
    expect(reason(check({ username: `${REMOTE_UFRAG}:${LOCAL_UFRAG}` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: `${LOCAL_UFRAG}x:${REMOTE_UFRAG}` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: `${LOCAL_UFRAG}` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: `${LOCAL_UFRAG}:` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: `${LOCAL_UFRAG.slice(0, 3)}:${REMOTE_UFRAG}` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: `${LOCAL_UFRAG}-${REMOTE_UFRAG}` }))).toBe('wrong-ufrag');
    expect(reason(check({ username: null }))).toBe('no-username');
  });

  it('rejects what is not a signed Binding request with PRIORITY', () => {
    expect(reason(check({ pwd: null }))).toBe('no-integrity');
    expect(reason(check({ pwd: null, fingerprint: false }))).toBe('no-integrity');
    expect(reason(check({ priority: null }))).toBe('no-priority');
    expect(reason(check({ cls: 'success' }))).toBe('not-binding-request');
    expect(reason(check({ method: StunMethod.ALLOCATE }))).toBe('not-binding-request');
    expect(reason(new Uint8Array(172).fill(0x80))).toBe('not-stun');
  });

  it('rejects every truncation and every tampered byte of the signed part or the fingerprint', () => {
    const good = check({ useCandidate: true });
    const fp = parsed(good).fingerprintOffset;
    for (let n = 0; n < good.length; n += 1) expect(reason(good.subarray(0, n)), `length ${n}`).not.toBe('ok');
    for (let i = 0; i < good.length; i += 1) {
      // FINGERPRINT's type bytes: another type after MESSAGE-INTEGRITY is ignored (RFC 8489 §14.5)
      // and the signed bytes are intact, so that one may pass: it changes nothing we read.
      if (i === fp || i === fp + 1) continue;
      for (const mask of [0x01, 0x80]) {
        const copy = good.slice();
        copy[i]! ^= mask;
        expect(reason(copy), `byte ${i} ^ ${mask}`).not.toBe('ok');
      }
    }
  });

  it('rejects a forged check even when its FINGERPRINT is right', () => {
    const forged = check({ pwd: 'guess' });
    expect(verifyFingerprint(parsed(forged))).toBe(true);
    expect(reason(forged)).toBe('bad-integrity');
  });

  it('returns a preallocated object for each rejection', () => {
    expect(verifyIceRequest(check({ pwd: 'x' }), LOCAL_UFRAG, LOCAL_PWD)).toBe(verifyIceRequest(check({ pwd: 'y' }), LOCAL_UFRAG, LOCAL_PWD));
  });
});

describe('fixZeroTiebreaker (reflector-shim.md §3)', () => {
  const T = 0x0badc0ffee123456n;

  for (const role of ['controlling', 'controlled'] as const) {
    it(`re-signs a check whose ICE-${role.toUpperCase()} is zero`, () => {
      const original = check({ role, tiebreaker: 0n, useCandidate: true });
      const fixed = fixZeroTiebreaker(original, LOCAL_PWD, T)!;
      expect(fixed).toBeDefined();
      expect(fixed).not.toBe(original);
      const m = parsed(fixed);
      const type = role === 'controlling' ? StunAttr.ICE_CONTROLLING : StunAttr.ICE_CONTROLLED;
      expect(decodeU64(attributeValue(m, type)!)).toBe(T);
      expect(verifyIntegrity(m, LOCAL_PWD)).toBe(true);
      expect(verifyFingerprint(m)).toBe(true);
      expect(verifyIceRequest(fixed, LOCAL_UFRAG, LOCAL_PWD)).toMatchObject({ ok: true, role, useCandidate: true });
      // only the tie-breaker, MESSAGE-INTEGRITY and FINGERPRINT changed
      const diff = [...fixed].map((b, i) => (b === original[i] ? -1 : i)).filter((i) => i >= 0);
      const tie = parsed(original).attributes.find((a) => a.type === type)!;
      expect(diff.every((i) => (i >= tie.offset && i < tie.offset + 8) || i >= m.integrityOffset)).toBe(true);
      expect(original.length).toBe(fixed.length);
    });
  }

  it('never writes to its input, a Node Buffer as dgram delivers it included', () => {
    const input = Buffer.from(check({ tiebreaker: 0n }));
    const before = Buffer.from(input);
    const fixed = fixZeroTiebreaker(input, LOCAL_PWD, T)!;
    expect(input.equals(before)).toBe(true);
    expect(verifyIceRequest(fixed, LOCAL_UFRAG, LOCAL_PWD).ok).toBe(true);
    // and again: the input still has its zero tie-breaker
    expect(fixZeroTiebreaker(input, LOCAL_PWD, T)).toBeDefined();
  });

  it('works without FINGERPRINT too', () => {
    const fixed = fixZeroTiebreaker(check({ tiebreaker: 0n, fingerprint: false }), LOCAL_PWD, T)!;
    expect(parsed(fixed).fingerprintOffset).toBe(-1);
    expect(verifyIceRequest(fixed, LOCAL_UFRAG, LOCAL_PWD).ok).toBe(true);
  });

  it('leaves everything else alone (undefined: forward the original)', () => {
    expect(fixZeroTiebreaker(check({ tiebreaker: 1n }), LOCAL_PWD, T)).toBeUndefined();
    expect(fixZeroTiebreaker(check({ role: null }), LOCAL_PWD, T)).toBeUndefined();
    expect(fixZeroTiebreaker(check({ tiebreaker: 0n, cls: 'success' }), LOCAL_PWD, T)).toBeUndefined();
    expect(fixZeroTiebreaker(new Uint8Array(100).fill(0x80), LOCAL_PWD, T)).toBeUndefined();
    expect(fixZeroTiebreaker(new Uint8Array(0), LOCAL_PWD, T)).toBeUndefined();
  });

  it('never launders a check that is not signed with our password', () => {
    expect(fixZeroTiebreaker(check({ tiebreaker: 0n, pwd: REMOTE_PWD }), LOCAL_PWD, T)).toBeUndefined();
    expect(fixZeroTiebreaker(check({ tiebreaker: 0n, pwd: null }), LOCAL_PWD, T)).toBeUndefined();
    const tampered = check({ tiebreaker: 0n });
    tampered[25]! ^= 1; // inside USERNAME
    expect(fixZeroTiebreaker(tampered, LOCAL_PWD, T)).toBeUndefined();
  });

  it('refuses a zero tie-breaker of its own (API misuse)', () => {
    expect(() => fixZeroTiebreaker(check({ tiebreaker: 0n }), LOCAL_PWD, 0n)).toThrow(RangeError);
  });
});

describe('rewriteMappedAddress', () => {
  const proxy = { address: '127.0.0.1', port: 53000 };
  const peer = { address: '203.0.113.7', port: 41234 };

  function response(options: { mapped?: typeof proxy; pwd?: string; fingerprint?: boolean; plainMapped?: boolean } = {}): Uint8Array {
    const attributes: StunAttributeInit[] = [{ type: StunAttr.SOFTWARE, value: encodeText('libjuice') }];
    if (options.plainMapped) attributes.push({ type: StunAttr.MAPPED_ADDRESS, value: encodeAddress(options.mapped ?? proxy) });
    attributes.push({ type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress(options.mapped ?? proxy, id) });
    return buildStun({
      method: StunMethod.BINDING,
      cls: 'success',
      transactionId: id,
      attributes,
      integrityKey: options.pwd ?? LOCAL_PWD,
      fingerprint: options.fingerprint ?? true,
    });
  }

  function mappedOf(bytes: Uint8Array, type: number = StunAttr.XOR_MAPPED_ADDRESS): unknown {
    const m = parsed(bytes);
    const v = attributeValue(m, type);
    return v && decodeAddress(v, type === StunAttr.XOR_MAPPED_ADDRESS ? m.transactionId : undefined);
  }

  it('reports the peer its real address, re-signed with our password, other attributes kept', () => {
    const out = rewriteMappedAddress(response(), peer, LOCAL_PWD)!;
    const m = parsed(out);
    expect(mappedOf(out)).toEqual(peer);
    expect(verifyIntegrity(m, LOCAL_PWD)).toBe(true);
    expect(verifyFingerprint(m)).toBe(true);
    expect(Buffer.from(m.transactionId).equals(Buffer.from(id))).toBe(true);
    expect(attributeValue(m, StunAttr.SOFTWARE)).toEqual(encodeText('libjuice'));
  });

  it('never writes to its input (a Node Buffer)', () => {
    const input = Buffer.from(response());
    const before = Buffer.from(input);
    expect(mappedOf(rewriteMappedAddress(input, peer, LOCAL_PWD)!)).toEqual(peer);
    expect(input.equals(before)).toBe(true);
  });

  it('changes the family when the peer is IPv6, and fixes MAPPED-ADDRESS too', () => {
    const v6 = { address: '2001:db8::42', port: 5000 };
    const out = rewriteMappedAddress(response({ plainMapped: true, fingerprint: false }), v6, LOCAL_PWD)!;
    expect(mappedOf(out)).toEqual(v6);
    expect(mappedOf(out, StunAttr.MAPPED_ADDRESS)).toEqual(v6);
    expect(parsed(out).fingerprintOffset).toBe(-1);
    expect(verifyIntegrity(parsed(out), LOCAL_PWD)).toBe(true);
  });

  it('undefined when there is nothing to rewrite or the response is not ours', () => {
    expect(rewriteMappedAddress(response({ mapped: peer }), peer, LOCAL_PWD)).toBeUndefined();
    expect(rewriteMappedAddress(response({ pwd: REMOTE_PWD }), peer, LOCAL_PWD)).toBeUndefined();
    expect(rewriteMappedAddress(check({}), peer, LOCAL_PWD)).toBeUndefined();
    expect(rewriteMappedAddress(response(), { address: 'not-an-ip', port: 1 }, LOCAL_PWD)).toBeUndefined();
    const tampered = response();
    tampered[24]! ^= 1;
    expect(rewriteMappedAddress(tampered, peer, LOCAL_PWD)).toBeUndefined();
    for (let n = 0; n < 60; n += 4) expect(rewriteMappedAddress(response().subarray(0, n), peer, LOCAL_PWD)).toBeUndefined();
  });
});
