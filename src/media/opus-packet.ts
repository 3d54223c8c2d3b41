/**
 * What an Opus packet's TOC byte says (RFC 6716 §3.1–3.2): how many 48 kHz samples it decodes to,
 * whether it is coded stereo and in which mode. The receiver uses this to size every packet, since
 * peers send any frame size (ntgcalls: 60 ms steady, 120 ms packets in its start-up burst).
 */

export type OpusMode = 'silk' | 'hybrid' | 'celt';

export interface OpusPacketInfo {
  mode: OpusMode;
  /** Samples per frame at 48 kHz (120 … 2880). */
  samplesPerFrame: number;
  frameCount: number;
  /** Samples per channel the packet decodes to at 48 kHz. */
  samples: number;
  stereo: boolean;
}

/** Longest duration one Opus packet may carry: 120 ms at 48 kHz (RFC 6716 §3.2.5). */
export const OPUS_MAX_PACKET_SAMPLES = 5760;

// Frame size in 48 kHz samples for each of the 32 TOC configurations (RFC 6716 Table 2).
const SAMPLES_PER_FRAME: readonly number[] = [
  480, 960, 1920, 2880, // SILK NB 10/20/40/60 ms
  480, 960, 1920, 2880, // SILK MB
  480, 960, 1920, 2880, // SILK WB
  480, 960, // Hybrid SWB 10/20 ms
  480, 960, // Hybrid FB
  120, 240, 480, 960, // CELT NB 2.5/5/10/20 ms
  120, 240, 480, 960, // CELT WB
  120, 240, 480, 960, // CELT SWB
  120, 240, 480, 960, // CELT FB
];

/**
 * Reads the TOC (and the frame count byte of code 3). Returns `undefined` for anything that is not
 * a well-formed Opus packet header (empty, code 1 with odd body, code 3 with M = 0 or > 120 ms).
 */
export function opusPacketInfo(packet: Uint8Array): OpusPacketInfo | undefined {
  if (packet.length < 1) return undefined;
  const toc = packet[0]!;
  const config = toc >> 3;
  const samplesPerFrame = SAMPLES_PER_FRAME[config]!;
  const mode: OpusMode = config < 12 ? 'silk' : config < 16 ? 'hybrid' : 'celt';
  const code = toc & 0x03;
  let frameCount: number;
  switch (code) {
    case 0:
      frameCount = 1;
      break;
    case 1:
      // Two frames of equal size: the body must split evenly (RFC 6716 §3.2.3, rule R3).
      if ((packet.length - 1) % 2 !== 0) return undefined;
      frameCount = 2;
      break;
    case 2:
      if (packet.length < 2) return undefined;
      frameCount = 2;
      break;
    default:
      if (packet.length < 2) return undefined;
      frameCount = packet[1]! & 0x3f;
      if (frameCount === 0) return undefined;
      break;
  }
  const samples = samplesPerFrame * frameCount;
  if (samples > OPUS_MAX_PACKET_SAMPLES) return undefined;
  return { mode, samplesPerFrame, frameCount, samples, stereo: (toc & 0x04) !== 0 };
}

/** Samples per channel at 48 kHz, or `undefined` if the header is malformed. */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  return opusPacketInfo(packet)?.samples;
}
