/**
 * Raw TCP framing of TCP reflectors (tgcalls `RawTcpSocket`, reflector.md §4): the client sends
 * the prologue `ee ee ee ee` once, then every packet as `LE32 length | packet`; the server sends
 * `LE32 length | packet` with no prologue. A packet is at most 64 KiB (`kMaxPacketSize`).
 *
 * A length-prefixed stream cannot resynchronise: once a length is impossible (over 64 KiB) or
 * the server-side prologue is wrong, nothing after it can be trusted. The deframers then count
 * the error, drop their buffer, ignore everything that follows and report `broken`: the owner
 * closes the connection. Memory is bounded by one maximal frame.
 */

export const TCP_PROLOGUE = Uint8Array.of(0xee, 0xee, 0xee, 0xee);
/** tgcalls `kMaxPacketSize` (64 * 1024). */
export const TCP_MAX_PACKET = 64 * 1024;

export type TcpFramingError = 'oversize' | 'bad-prologue';

export interface TcpDeframerStats {
  frames: number;
  bytes: number;
  /** Zero-length frames (delivered; a reflector parser counts them as short). */
  empty: number;
  errors: Record<TcpFramingError, number>;
  /** Bytes ignored after the stream broke. */
  ignoredBytes: number;
}

function lengthPrefix(length: number): Uint8Array {
  return Uint8Array.of(length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, (length >>> 24) & 0xff);
}

/** `LE32 length | packet`. Throws RangeError over 64 KiB (a caller bug: check before framing). */
export function encodeTcpFrame(packet: Uint8Array): Uint8Array {
  if (packet.length > TCP_MAX_PACKET) throw new RangeError(`TCP frame of ${packet.length} bytes exceeds ${TCP_MAX_PACKET}`);
  const out = new Uint8Array(4 + packet.length);
  out.set(lengthPrefix(packet.length), 0);
  out.set(packet, 4);
  return out;
}

/** The client's writer: prologue before the first frame of a connection, then plain frames. */
export class TcpClientFramer {
  private prologueSent = false;

  frame(packet: Uint8Array): Uint8Array {
    const frame = encodeTcpFrame(packet);
    if (this.prologueSent) return frame;
    this.prologueSent = true;
    const out = new Uint8Array(4 + frame.length);
    out.set(TCP_PROLOGUE, 0);
    out.set(frame, 4);
    return out;
  }

  /** A new connection starts with the prologue again. */
  reset(): void {
    this.prologueSent = false;
  }
}

/**
 * Incremental reader of `LE32 length | packet` frames (the client reading the server, and after
 * the prologue the server reading a client). `push` returns the packets completed by a chunk;
 * they are copies, independent of the chunk.
 */
export class TcpDeframer {
  readonly stats: TcpDeframerStats = { frames: 0, bytes: 0, empty: 0, errors: { oversize: 0, 'bad-prologue': 0 }, ignoredBytes: 0 };
  private header = new Uint8Array(4);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private brokenBy: TcpFramingError | undefined;

  /** The error that broke the stream, if any. */
  get broken(): TcpFramingError | undefined {
    return this.brokenBy;
  }

  /** Bytes held for an incomplete frame (≤ 4 + 64 KiB). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.brokenBy) {
        this.stats.ignoredBytes += chunk.length - at;
        break;
      }
      if (!this.body) {
        const take = Math.min(4 - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFill);
        this.headerFill += take;
        at += take;
        if (this.headerFill < 4) break;
        const h = this.header;
        const length = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.headerFill = 0;
        if (length > TCP_MAX_PACKET) {
          this.break('oversize');
          continue;
        }
        this.body = new Uint8Array(length);
        this.bodyFill = 0;
      }
      const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
      this.body.set(chunk.subarray(at, at + take), this.bodyFill);
      this.bodyFill += take;
      at += take;
      if (this.bodyFill === this.body.length) {
        packets.push(this.body);
        this.stats.frames++;
        this.stats.bytes += this.body.length;
        if (this.body.length === 0) this.stats.empty++;
        this.body = undefined;
        this.bodyFill = 0;
      }
    }
    return packets;
  }

  protected break(error: TcpFramingError): void {
    this.stats.errors[error]++;
    this.brokenBy = error;
    this.body = undefined;
    this.bodyFill = 0;
    this.headerFill = 0;
  }
}

/**
 * The server's reader of one client connection: the 4-byte prologue first (anything else breaks
 * the stream as `bad-prologue`), then frames.
 */
export class TcpServerDeframer extends TcpDeframer {
  private prologueFill = 0;

  override push(chunk: Uint8Array): Uint8Array[] {
    let at = 0;
    while (this.prologueFill < 4 && at < chunk.length && !this.broken) {
      if (chunk[at] !== 0xee) {
        this.break('bad-prologue');
        this.stats.ignoredBytes += chunk.length - at;
        return [];
      }
      this.prologueFill++;
      at++;
    }
    return at < chunk.length ? super.push(at === 0 ? chunk : chunk.subarray(at)) : [];
  }
}
