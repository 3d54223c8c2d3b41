/**
 * CRC32c (Castagnoli, reflected polynomial 0x82F63B78): the SCTP checksum (RFC 9260 §6.8 and
 * Appendix A). The carrier checks it itself so garbage is dropped, and counted, before it reaches
 * the SCTP stack.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function update(crc: number, data: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

export function crc32c(data: Uint8Array): number {
  return (update(0xffffffff, data, 0, data.length) ^ 0xffffffff) >>> 0;
}

/** The checksum of an SCTP packet: CRC32c over the packet with its checksum field (bytes 8..11) as zeros. */
export function sctpChecksum(packet: Uint8Array): number {
  let crc = update(0xffffffff, packet, 0, Math.min(8, packet.length));
  crc = update(crc, ZEROS, 0, 4);
  crc = update(crc, packet, 12, packet.length);
  return (crc ^ 0xffffffff) >>> 0;
}

const ZEROS = new Uint8Array(4);
