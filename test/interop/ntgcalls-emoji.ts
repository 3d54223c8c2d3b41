/**
 * The emoji ntgcalls 3.x reports for a call, against tgcall's (call-crypto-and-signaling.md §3).
 *
 * Both sides hash SHA-256(key || caller's g_a), the key being g^ab mod p left-padded to 256 bytes
 * (§3.1: TDLib, tdesktop, Android; tgcall's `emojiFingerprint`). ntgcalls 3.0.5 hashes the key
 * without its leading zero bytes instead, so when the key's first byte is 0x00 (about one call in
 * 200) its emoji differ from every official client's and ours, while the call itself works: its
 * key fingerprint and packet keys use the padded key. Measured on the 3.0.5 wheel (2026-12, this
 * session's scripts, ntgcalls driven directly): 1500 exchanges with ntgcalls as caller agreed on all
 * 333 table entries and differed in exactly the 8 whose key began with 0x00, where ntgcalls' value
 * was the hash over the key without that byte; as callee, the same. on_update_emojis and
 * get_emojis_fingerprint gave one and the same value each time. The 3.0.5 emoji code is not in
 * the public ntgcalls repository; its exchangeKeys (ntgcalls/src/instances/p2p_call.cpp, v2.2.3)
 * keeps both forms of the key: `computedAuthKey` from `AuthKey::CreateAuthKey` (BigNum::getBytes,
 * minimal) and the padded `RawKey` from `AuthKey::FillData`.
 */
import { createHash } from 'node:crypto';
import { Api } from 'telegram';
import { expect } from 'vitest';
import { emojiFingerprint } from '../../src/crypto/fingerprint.js';
import { EMOJI_TABLE } from '../../src/crypto/emoji-table.js';
import type { FakeTelegram } from '../../src/fake/index.js';
import type { Call } from '../../src/index.js';
import type { CallReadyInfo } from '../../src/signaling/index.js';

/** ntgcalls 3.0.5's emoji: SHA-256 over the key without leading zero bytes, then g_a (§3.2 mapping). */
export function ntgcallsEmoji(key: Uint8Array, callerGA: Uint8Array): string {
  let start = 0;
  while (start < key.length - 1 && key[start] === 0) start++;
  const hash = createHash('sha256').update(key.subarray(start)).update(callerGA).digest();
  const emoji: string[] = [];
  for (let i = 0; i < 4; i++) {
    const index = (hash.readBigUInt64BE(i * 8) & 0x7fffffffffffffffn) % BigInt(EMOJI_TABLE.length);
    emoji.push(EMOJI_TABLE[Number(index)]!);
  }
  return emoji.join('');
}

/**
 * Asserts that `reported` (ntgcalls' emoji) is what ntgcalls shows for tgcall's `call`: tgcall's
 * own emoji, or, when the key starts with 0x00, ntgcalls' variant, tgcall's still being the spec's.
 * `calleeId`: the callee's user id, whose phoneCall update carries the caller's g_a.
 */
export function expectNtgcallsEmoji(reported: string | undefined, call: Call, telegram: FakeTelegram, calleeId: bigint, message = 'ntgcalls emoji'): void {
  const ours = call.emoji!.emoji.join('');
  // The key is the library's private state: read here only to tell ntgcalls' deviation apart.
  const key = (call as unknown as { ready?: CallReadyInfo }).ready?.key;
  if (!key) throw new Error('the call has no key');
  if (key[0] !== 0) {
    expect(reported, message).toBe(ours);
    return;
  }
  const gA = callerGA(telegram, calleeId, call.id!);
  expect(ours, 'tgcall: SHA-256 over the 256-byte key').toBe(emojiFingerprint(key, gA).emoji.join(''));
  expect(reported, `${message} (the key starts with 0x00: ntgcalls hashes it without that byte)`).toBe(ntgcallsEmoji(key, gA));
  console.log(`ntgcalls emoji ${reported}, tgcall ${ours}: the key starts with 0x00 (ntgcalls 3.0.5 hashes it without leading zero bytes)`);
}

/** The caller's g_a as the callee received it (its phoneCall update from the fake server). */
function callerGA(telegram: FakeTelegram, calleeId: bigint, callId: bigint): Uint8Array {
  for (const update of telegram.deliveredUpdates(calleeId)) {
    if (!(update instanceof Api.UpdatePhoneCall)) continue;
    const call = update.phoneCall;
    if (call instanceof Api.PhoneCall && call.id.toString() === callId.toString()) return new Uint8Array(call.gAOrB);
  }
  throw new Error(`no phoneCall ${callId} was delivered to ${calleeId}`);
}
