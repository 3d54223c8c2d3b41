/**
 * RTP/RTCP demultiplexing on one rtcp-mux 5-tuple (RFC 5761 §4): the second byte of an RTCP packet
 * is its packet type 192..223, which reads as marker bit + payload type 64..95 in RTP; those RTP
 * payload types are not used, so that range means RTCP.
 */
export type MediaPacketKind = 'rtp' | 'rtcp' | 'invalid';

export function classifyMediaPacket(packet: Uint8Array): MediaPacketKind {
  // Fixed RTP header is 12 bytes, the smallest RTCP packet (empty RR) 8; both carry version 2.
  if (packet.length < 8 || (packet[0]! & 0xc0) !== 0x80) return 'invalid';
  const pt = packet[1]! & 0x7f;
  if (pt >= 64 && pt <= 95) return 'rtcp';
  return packet.length >= 12 ? 'rtp' : 'invalid';
}
