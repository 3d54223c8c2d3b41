/** Loads the protocol test vectors kept as data files under test/vectors/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../vectors/', import.meta.url));

export function loadJson<T>(name: string): T {
  return JSON.parse(readFileSync(dir + name, 'utf8')) as T;
}

export interface PacketVector {
  name: string;
  sender_is_outgoing: boolean;
  x_sender: number;
  decrypted_body_hex: string;
  packet_hex: string;
  msg_key_hex: string;
  aes_key_hex: string;
  aes_iv_hex: string;
}

export interface CallVectors {
  p_hex: string;
  g: number;
  a_hex: string;
  b_hex: string;
  g_a_hex: string;
  g_b_hex: string;
  g_a_hash_hex: string;
  key_hex: string;
  sha1_key_hex: string;
  key_fingerprint_int64: number;
  key_fingerprint_tl_bytes_hex: string;
  emoji_sha256_hex: string;
  emoji_indices: number[];
  emoji: string[];
  packets: PacketVector[];
  tdlib_official_key_id_vector: { key_hex: string; fingerprint_bytes_hex: string; fingerprint_int64: number };
}

export interface CaptureRecord {
  t: number;
  from: 'caller' | 'callee';
  packet_hex: string;
  body_hex?: string;
}

export interface Capture {
  description: string;
  key_hex: string;
  records: CaptureRecord[];
}

export const callVectors = (): CallVectors => loadJson<CallVectors>('test-vectors.json');
export const capture = (name: 'ntgcalls-2.2.5-v8.json' | 'ntgcalls-3.0.5-v9.json'): Capture =>
  loadJson<Capture>(`captures/${name}`);

/** Raw JSON text of the vectors, for int64 fields that JSON.parse would round. */
export function rawVectorText(name: string): string {
  return readFileSync(dir + name, 'utf8');
}

/** Deterministic PRNG (mulberry32) for seeded property tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(random: () => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}
