/**
 * Test-only reader of the decrypted capture bodies: the v2 framing of
 * call-crypto-and-signaling.md §5.3 (`be32 seq | 0x7F | be32 len | json`, `seq | 0xFE`, `seq | 0xFF`).
 */
import { capture } from '../helpers/vectors.js';

export interface CapturedMessage {
  t: number;
  from: 'caller' | 'callee';
  seq: number;
  json: Uint8Array;
}

export function parseBody(body: Uint8Array): { seq: number; json: Uint8Array }[] {
  const out: { seq: number; json: Uint8Array }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let i = 0;
  while (i < body.length) {
    if (i + 5 > body.length) throw new Error('truncated entry header');
    const seq = view.getUint32(i);
    const type = body[i + 4];
    i += 5;
    if (type === 0x7f) {
      if (i + 4 > body.length) throw new Error('truncated length');
      const len = view.getUint32(i);
      i += 4;
      if (i + len > body.length) throw new Error('truncated payload');
      out.push({ seq, json: body.subarray(i, i + len) });
      i += len;
    } else if (type !== 0xfe && type !== 0xff) {
      throw new Error(`unknown entry type ${type}`);
    }
  }
  return out;
}

/** Every JSON message of a capture, resends included, in capture order. */
export function capturedMessages(name: 'ntgcalls-2.2.5-v8.json' | 'ntgcalls-3.0.5-v9.json'): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  for (const record of capture(name).records) {
    if (!record.body_hex) continue;
    for (const m of parseBody(Uint8Array.from(Buffer.from(record.body_hex, 'hex')))) {
      out.push({ t: record.t, from: record.from, ...m });
    }
  }
  return out;
}
