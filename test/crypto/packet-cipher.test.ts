import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aesCtr,
  computeMsgKey,
  decryptPacket,
  deriveAesKeyIv,
  encryptPacket,
  fromHex,
  PacketCipher,
  senderOffset,
  toHex,
} from '../../src/crypto/index.js';
import { callVectors, capture, seededBytes, seededRandom } from '../helpers/vectors.js';

const v = callVectors();
const key = fromHex(v.key_hex);

describe('packet cipher', () => {
  it('uses x = 128 for the caller and 136 for the callee on signaling, 0 / 8 on transport', () => {
    expect(senderOffset(true, 'signaling')).toBe(128);
    expect(senderOffset(false, 'signaling')).toBe(136);
    expect(senderOffset(true, 'transport')).toBe(0);
    expect(senderOffset(false, 'transport')).toBe(8);
  });

  for (const packet of v.packets) {
    it(`encryptPacket / decryptPacket reproduce vector ${packet.name} with the key and a side`, () => {
      const body = fromHex(packet.decrypted_body_hex);
      expect(toHex(encryptPacket(key, packet.sender_is_outgoing, body))).toBe(packet.packet_hex);
      const decrypted = decryptPacket(key, !packet.sender_is_outgoing, fromHex(packet.packet_hex));
      expect(decrypted.ok && toHex(decrypted.body)).toBe(packet.decrypted_body_hex);
      expect(decryptPacket(key, packet.sender_is_outgoing, fromHex(packet.packet_hex))).toEqual({ ok: false, reason: 'msg-key' });
      expect(() => encryptPacket(key.subarray(1), true, body)).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
    });
  }

  for (const packet of v.packets) {
    it(`reproduces vector ${packet.name}: msg_key, aes key/iv, packet; the peer decrypts it`, () => {
      const body = fromHex(packet.decrypted_body_hex);
      const msgKey = computeMsgKey(key, body, packet.x_sender);
      expect(toHex(msgKey)).toBe(packet.msg_key_hex);
      const kdf = deriveAesKeyIv(key, msgKey, packet.x_sender);
      expect(toHex(kdf.key)).toBe(packet.aes_key_hex);
      expect(toHex(kdf.iv)).toBe(packet.aes_iv_hex);
      const sender = new PacketCipher(key, packet.sender_is_outgoing);
      expect(toHex(sender.encrypt(body))).toBe(packet.packet_hex);
      const receiver = new PacketCipher(key, !packet.sender_is_outgoing);
      const decrypted = receiver.decrypt(fromHex(packet.packet_hex));
      expect(decrypted.ok && toHex(decrypted.body)).toBe(packet.decrypted_body_hex);
      // the sender itself cannot decrypt its own packet (other x)
      expect(sender.decrypt(fromHex(packet.packet_hex)).ok).toBe(false);
    });
  }

  for (const name of ['ntgcalls-2.2.5-v8.json', 'ntgcalls-3.0.5-v9.json'] as const) {
    it(`decrypts every real ntgcalls packet of ${name} to the recorded body`, () => {
      const cap = capture(name);
      const capKey = fromHex(cap.key_hex);
      const atCaller = new PacketCipher(capKey, true);
      const atCallee = new PacketCipher(capKey, false);
      for (const record of cap.records) {
        const receiver = record.from === 'caller' ? atCallee : atCaller;
        const result = receiver.decrypt(fromHex(record.packet_hex));
        expect(result.ok).toBe(true);
        if (result.ok && record.body_hex) expect(toHex(result.body)).toBe(record.body_hex);
        // and re-encrypting the body as the sender gives the same bytes
        const sender = record.from === 'caller' ? atCaller : atCallee;
        if (result.ok) expect(toHex(sender.encrypt(result.body))).toBe(record.packet_hex);
      }
    });
  }

  it('round-trips random bodies of many sizes in both directions', () => {
    const random = seededRandom(42);
    const caller = new PacketCipher(key, true);
    const callee = new PacketCipher(key, false);
    for (const size of [5, 16, 17, 31, 32, 33, 255, 1000, 16368, 131056]) {
      const body = seededBytes(random, size);
      const a = callee.decrypt(caller.encrypt(body));
      const b = caller.decrypt(callee.encrypt(body));
      expect(a.ok && toHex(a.body)).toBe(toHex(body));
      expect(b.ok && toHex(b.body)).toBe(toHex(body));
    }
  });

  it('carries the CTR counter through all 128 bits (IV ending ff..fe)', () => {
    const aesKey = seededBytes(seededRandom(5), 32);
    const iv = fromHex('0102030405060708fffffffffffffffe');
    const data = seededBytes(seededRandom(6), 64);
    const out = aesCtr(aesKey, iv, data);
    const ecb = createCipheriv('aes-256-ecb', aesKey, null).setAutoPadding(false);
    let counter = BigInt(`0x${toHex(iv)}`);
    for (let block = 0; block < 4; block++) {
      const stream = ecb.update(fromHex(counter.toString(16).padStart(32, '0')));
      for (let i = 0; i < 16; i++) expect(out[block * 16 + i]).toBe(stream[i]! ^ data[block * 16 + i]!);
      counter = (counter + 1n) % (1n << 128n);
    }
    // block 2 used counter 0102030405060709 0000000000000000: the carry crossed into the high half
    expect(counter.toString(16)).toBe('1020304050607090000000000000002');
  });

  it('rejects truncated, oversize, and tampered packets without throwing', () => {
    const caller = new PacketCipher(key, true);
    const callee = new PacketCipher(key, false);
    const packet = caller.encrypt(fromHex(v.packets[2]!.decrypted_body_hex));
    expect(callee.decrypt(packet.subarray(0, 20))).toEqual({ ok: false, reason: 'size' });
    expect(callee.decrypt(new Uint8Array(0))).toEqual({ ok: false, reason: 'size' });
    expect(callee.decrypt(new Uint8Array(128 * 1024 + 1))).toEqual({ ok: false, reason: 'size' });
    for (const index of [0, 15, 16, packet.length - 1]) {
      const tampered = new Uint8Array(packet);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(callee.decrypt(tampered)).toEqual({ ok: false, reason: 'msg-key' });
    }
  });
});
