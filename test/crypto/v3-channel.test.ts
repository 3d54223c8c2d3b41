/**
 * The V3 encrypted channel (12.0.0 / 13.0.0): raw framing of gzip'd JSON (§5.2, §5.5), its size
 * limit, the bounded inflate (signaling-limits.ts) as V3 meets it, and the version and carrier choice.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { carrierKindFor } from '../../src/carrier/index.js';
import {
  createSignalingChannel,
  fromHex,
  KNOWN_LIBRARY_VERSIONS,
  MAX_INFLATED_PAYLOAD,
  PacketCipher,
  RawSignalingChannel,
  signalingModeFor,
  signalingModeForVersion,
  validateLibraryVersions,
  writeUint32BE,
} from '../../src/crypto/index.js';
import { CallSignalingError, CryptoError } from '../../src/errors.js';
import { SeededRandom } from '../../src/fake/index.js';
import { callVectors } from '../helpers/vectors.js';

const v = callVectors();
const key = fromHex(v.key_hex);
const text = (s: string) => new TextEncoder().encode(s);
const json = (b: Uint8Array) => new TextDecoder().decode(b);

/** What an authentic V3 peer (ntgcalls as callee) sends: msg_key || AES-CTR(be32(counter) || payload). */
function peerPacket(counter: number, payload: Uint8Array): Uint8Array {
  const body = new Uint8Array(4 + payload.length);
  writeUint32BE(body, 0, counter);
  body.set(payload, 4);
  return new PacketCipher(key, false).encrypt(body);
}

/** 4 KiB of gzip'd zeros that inflate to 4 MiB (the cap stops it at 2 MiB whatever the ratio). */
const BOMB = new Uint8Array(gzipSync(Buffer.alloc(4 * 1024 * 1024), { level: 9 }));
const gzipBomb = (): Uint8Array => BOMB;

describe('V3 channel (gzip + raw framing)', () => {
  it('gzips outgoing JSON (level 9, 1F 8B) behind be32(counter) and the peer inflates it', () => {
    const caller = createSignalingChannel('13.0.0', key, true);
    const callee = createSignalingChannel('13.0.0', key, false);
    const message = text(JSON.stringify({ '@type': 'InitialSetup', ufrag: 'abcd', pwd: 'x'.repeat(200), fingerprints: [] }));
    const [packet] = caller.send(message, 0);
    const decrypted = new PacketCipher(key, false).decrypt(packet!);
    expect(decrypted.ok).toBe(true);
    if (!decrypted.ok) return;
    expect([...decrypted.body.subarray(0, 6)]).toEqual([0, 0, 0, 1, 0x1f, 0x8b]);
    expect(packet!.length).toBeLessThan(16 + 4 + message.length); // compressed
    expect(callee.receive(packet!, 0).messages.map(json)).toEqual([json(message)]);
  });

  it('reads the V3 vector and what a peer sends: gzip, zlib-wrapped or plain', () => {
    const callee = new RawSignalingChannel({ key, isOutgoing: false, compress: true });
    const vector = v.packets.find((p) => p.name === 'raw_v3_gzip_caller_seq2')!;
    expect(callee.receive(fromHex(vector.packet_hex), 0).messages).toHaveLength(1);
    const caller = new RawSignalingChannel({ key, isOutgoing: true, compress: true });
    const m = '{"@type":"Candidates","candidates":[]}';
    expect(caller.receive(peerPacket(1, new Uint8Array(gzipSync(m))), 0).messages.map(json)).toEqual([m]);
    expect(caller.receive(peerPacket(2, new Uint8Array(deflateSync(m))), 0).messages.map(json)).toEqual([m]);
    expect(caller.receive(peerPacket(3, text(m)), 0).messages.map(json)).toEqual([m]);
    expect(caller.receive(peerPacket(3, text(m)), 0).messages).toEqual([]); // replayed counter
    expect(caller.getStats().dropped.replay).toBe(1);
  });

  it('refuses a message whose encrypted packet would exceed 128 KiB (MESSAGE_TOO_LARGE), without using a counter', () => {
    const caller = createSignalingChannel('12.0.0', key, true);
    const callee = createSignalingChannel('12.0.0', key, false);
    const incompressible = new SeededRandom(5).bytes(140 * 1024);
    expect(() => caller.send(incompressible, 0)).toThrow(CryptoError);
    expect(() => caller.send(incompressible, 0)).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }));
    const [packet] = caller.send(text('{"ok":1}'), 0);
    const decrypted = new PacketCipher(key, false).decrypt(packet!);
    expect(decrypted.ok && [...decrypted.body.subarray(0, 4)]).toEqual([0, 0, 0, 1]);
    expect(callee.receive(packet!, 0).messages).toHaveLength(1);
  });
});

describe('bounded inflate on V3 (signaling-limits.ts)', () => {
  it(`drops a gzip bomb at ${MAX_INFLATED_PAYLOAD / 1024 / 1024} MiB of output (counted), and the next message still arrives`, () => {
    const caller = createSignalingChannel('13.0.0', key, true);
    expect(caller.receive(peerPacket(1, gzipBomb()), 0).messages).toEqual([]);
    expect(caller.getStats().dropped.payload).toBe(1);
    // The budget needs a moment to hold a maximal output again (INFLATE_LIMIT: 1 MiB/s).
    expect(caller.receive(peerPacket(2, new Uint8Array(gzipSync('{"a":1}'))), 1000).messages.map(json)).toEqual(['{"a":1}']);
  });

  it('bombs spend the inflate budget: then compressed payloads are refused (budget), plain ones pass, and it refills', () => {
    const caller = createSignalingChannel('13.0.0', key, true);
    let counter = 1;
    for (let i = 0; i < 10; i++) caller.receive(peerPacket(counter++, gzipBomb()), 0);
    expect(caller.getStats().dropped.payload).toBeGreaterThanOrEqual(1);
    expect(caller.getStats().dropped.payload + caller.getStats().dropped.budget).toBe(10);
    expect(caller.getStats().dropped.budget).toBeGreaterThan(0);
    const small = new Uint8Array(gzipSync('{"b":2}'));
    expect(caller.receive(peerPacket(counter++, small), 0).messages).toEqual([]);
    expect(caller.receive(peerPacket(counter++, text('{"c":3}')), 0).messages.map(json)).toEqual(['{"c":3}']);
    expect(caller.receive(peerPacket(counter++, small), 10_000).messages.map(json)).toEqual(['{"b":2}']);
  });
});

describe('versions', () => {
  it('maps 12.0.0 and 13.0.0 to V3, 8/9 to acked, 7 to raw, others to none', () => {
    expect(['13.0.0', '12.0.0', '9.0.0', '8.0.0', '7.0.0', '11.0.0', '10.0.0'].map(signalingModeForVersion)).toEqual(['v3', 'v3', 'acked', 'acked', 'raw', undefined, undefined]);
    expect(KNOWN_LIBRARY_VERSIONS.every((k) => signalingModeForVersion(k) !== undefined)).toBe(true);
  });

  it('V3 goes over SCTP unless custom_parameters say network_signaling_nosctp: true', () => {
    expect(carrierKindFor('13.0.0', undefined)).toBe('sctp');
    expect(carrierKindFor('12.0.0', { network_signaling_nosctp: false })).toBe('sctp');
    expect(carrierKindFor('13.0.0', { network_signaling_nosctp: true })).toBe('direct');
    expect(carrierKindFor('13.0.0', { network_signaling_nosctp: 'true' })).toBe('sctp');
    expect(carrierKindFor('9.0.0', undefined)).toBe('direct');
  });

  it('network_kcp_experiment: true makes any version V3 (android-tgcalls InstanceV2Impl), only as a JSON true', () => {
    expect(signalingModeFor('8.0.0', { network_kcp_experiment: true })).toBe('v3');
    expect(signalingModeFor('9.0.0', { network_kcp_experiment: true })).toBe('v3');
    expect(signalingModeFor('8.0.0', { network_kcp_experiment: 'true' })).toBe('acked');
    expect(signalingModeFor('8.0.0', { network_kcp_experiment: 1 })).toBe('acked');
    expect(signalingModeFor('11.0.0', { network_kcp_experiment: true })).toBeUndefined();
    expect(carrierKindFor('8.0.0', { network_kcp_experiment: true })).toBe('sctp');
    expect(carrierKindFor('8.0.0', { network_kcp_experiment: true, network_signaling_nosctp: true })).toBe('direct');
  });

  it('validates a libraryVersions option with typed errors', () => {
    expect(validateLibraryVersions(['13.0.0', '8.0.0'])).toEqual(['13.0.0', '8.0.0']);
    const bad: [unknown, string][] = [
      [[], 'INVALID_LIBRARY_VERSIONS'],
      ['13.0.0', 'INVALID_LIBRARY_VERSIONS'],
      [['8.0.0', '8.0.0'], 'INVALID_LIBRARY_VERSIONS'],
      [['11.0.0'], 'UNSUPPORTED_VERSION'],
      [['13.0.0', 13], 'UNSUPPORTED_VERSION'],
    ];
    for (const [value, code] of bad) {
      expect(() => validateLibraryVersions(value), JSON.stringify(value)).toThrow(CallSignalingError);
      expect(() => validateLibraryVersions(value)).toThrow(expect.objectContaining({ code }));
    }
  });
});
