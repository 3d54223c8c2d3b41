/**
 * ntgcalls 3.0.5's emoji when the call key starts with 0x00 (ntgcalls-emoji.ts): a vector recorded
 * from the 3.0.5 wheel (2026-12; ntgcalls as callee, exchange_keys then get_emojis_fingerprint,
 * on_update_emojis gave the same value). Pure: no ntgcalls needed.
 */
import { describe, expect, it } from 'vitest';
import { emojiFingerprint } from '../../src/crypto/fingerprint.js';
import { ntgcallsEmoji } from './ntgcalls-emoji.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** g^ab mod p, 256 bytes, first byte 0x00. */
const KEY = hex(
  '0058f4b9bd3bfe2b02e964b22998782285a4583c4abfea9d224e40845f6a40397f8912efaa9a4475954062afc008faa4' +
  '22e6d9c403e32babc58c73abf8a2002bc74ae0642c83e5a8896f6f3be2e37163fe394fb5be1b17cd704ab288d9107716' +
  '6eec0a61e9b1c930d4ced6cd5add1511ed7e5fd599caa89145ed998df93c342fa94abf2762a7f1cd7b14be3c2978409f' +
  'de49dca07f1f6b5baeb2968049c6fc995369a931bde22609558da593c4c96c7b33a8c7a119b6038d7ba25435538b3602' +
  'c51ca3980b19f7c4022f50b8ecbb53fa402b42a437b342a7a083edbeae839ee21cd1f6e9112720fe15332413941d70b4' +
  'fa169f389548db2d34d7d70d039a9f81',
);
/** The caller's g_a as sent (256 bytes). */
const G_A = hex(
  '42527d4af9751d258a762d60bae2263e03ce670d655367d0841252feba7513d4df035aef627a50441e3e67cab3e36c18' +
  'db5b8d83ee02c5c0e398967bd58527e6dcd86cc14435454fddc40c018248d04e5b46a543d0e0ad1f6d5631487f54db0b' +
  '7b6fa0fb0ebd6b7a011cc7008c8294dd10025d3617ed5893d1604fd674df89b297fad05a46dac137b3eb17caa47d8c10' +
  '428a76fc7a6026735f98d9bb259584509a97190a1aa7b6cc32526a5c3f10974705a112d006aacfc6ea2e1d3a463b7135' +
  '4ba1de27388ed2d7808b65e80034c9fab372ec9b128235d3bf1d10f8e6a02ad57d04f76b63310a8d1745a2490daa732f' +
  'cd82f41cf9fb86fccc71dbe9cb8ddc30',
);

describe('ntgcalls 3.0.5 emoji', () => {
  it('a key starting with 0x00: ntgcalls hashes it without that byte, tgcall (like TDLib) over all 256', () => {
    expect(KEY.length).toBe(256);
    expect(KEY[0]).toBe(0);
    expect(ntgcallsEmoji(KEY, G_A)).toBe('🎰🐷📌🎃');
    expect(emojiFingerprint(KEY, G_A).emoji.join('')).toBe('📦🚜🍦🍔');
  });

  it('any other key: both give the same emoji', () => {
    const key = new Uint8Array(KEY);
    key[0] = 1;
    expect(ntgcallsEmoji(key, G_A)).toBe(emojiFingerprint(key, G_A).emoji.join(''));
  });
});
