/**
 * Wire format of the acked custom-message mode (call-crypto-and-signaling.md §5.3): a decrypted
 * body is one or more messages, each `be32(seq) || type` and, for 0x7F, `be32(length) || payload`.
 * Pure parse/serialize, no state.
 */
import { readUint32BE, writeUint32BE } from './bytes.js';
import { SINGLE_MESSAGE_BIT } from './signaling-channel.js';

export const CUSTOM_ID = 0x7f;
export const EMPTY_ID = 0xfe;
export const ACK_ID = 0xff;
export const ACK_SIZE = 5;
/** seq + 0xFE */
export const SERVICE_HEADER_SIZE = 5;
/** seq + type + length */
export const CUSTOM_HEADER_SIZE = 9;
/** Longest custom message accepted (tgcalls Message.cpp DeserializeRawMessage). */
export const MAX_INCOMING_MESSAGE = 1024 * 1024;

/** One message of a body; a custom message's payload is body[offset, offset + length). */
export interface ParsedMessage {
  readonly seq: number;
  readonly type: typeof EMPTY_ID | typeof ACK_ID | typeof CUSTOM_ID;
  readonly offset: number;
  readonly length: number;
}

export function serializeServiceHeader(seq: number): Uint8Array {
  const out = new Uint8Array(SERVICE_HEADER_SIZE);
  writeUint32BE(out, 0, seq);
  out[4] = EMPTY_ID;
  return out;
}

/** An ack carries the full seq (flag bits included) of the message it acknowledges. */
export function serializeAck(seq: number): Uint8Array {
  const out = new Uint8Array(ACK_SIZE);
  writeUint32BE(out, 0, seq);
  out[4] = ACK_ID;
  return out;
}

export function serializeCustom(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CUSTOM_HEADER_SIZE + payload.length);
  writeUint32BE(out, 0, seq);
  out[4] = CUSTOM_ID;
  writeUint32BE(out, 5, payload.length);
  out.set(payload, CUSTOM_HEADER_SIZE);
  return out;
}

/**
 * Splits a decrypted body into messages, or undefined when the framing is invalid (§5.3). Payloads
 * stay offsets into `body` (no view per message): a 128 KiB body holds up to 26 000 messages, and
 * the receiver may read only a few of them.
 */
export function parseBody(body: Uint8Array): ParsedMessage[] | undefined {
  const messages: ParsedMessage[] = [];
  if (body.length < 5) return undefined;
  let offset = 0;
  for (;;) {
    const seq = readUint32BE(body, offset);
    const first = messages.length === 0;
    if (!first && (seq & SINGLE_MESSAGE_BIT) !== 0) return undefined;
    const type = body[offset + 4]!;
    offset += 5;
    if (type === EMPTY_ID) {
      if (!first) return undefined;
      messages.push({ seq, type, offset, length: 0 });
    } else if (type === ACK_ID) {
      if (first) return undefined;
      messages.push({ seq, type, offset, length: 0 });
    } else if (type === CUSTOM_ID) {
      if (offset + 4 > body.length) return undefined;
      const length = readUint32BE(body, offset);
      offset += 4;
      if (length > MAX_INCOMING_MESSAGE || offset + length > body.length) return undefined;
      messages.push({ seq, type, offset, length });
      offset += length;
    } else {
      return undefined;
    }
    if (offset === body.length) return messages;
    if ((seq & SINGLE_MESSAGE_BIT) !== 0) return undefined;
    if (body.length - offset < 5) return undefined;
  }
}
