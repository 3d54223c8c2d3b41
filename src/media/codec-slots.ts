/**
 * The hand-over of one encoder's frames between the JavaScript thread and a codec worker, sans-I/O:
 * a ring of slots in one (Shared)ArrayBuffer, each slot a PCM frame in and an Opus packet out.
 * `SlotWriter` is the JavaScript thread's side, `SlotReader` the worker's; neither waits nor wakes
 * anyone (the pool does: `WorkerSignal`), so both run in one thread in the tests.
 *
 * Layout (Int32 header, then the slots):
 *   [0] submitted — frames the writer has put in (a wrapping int32 count)
 *   [1] done      — frames the reader has encoded (same)
 *   [2] frame samples, [3] capacity, [4] max packet bytes
 *   slot i: lengths[i] (int32: packet bytes, -1 when the encode failed), pcm[i] (int16 × frame
 *   samples), packet[i] (bytes × max packet)
 * The writer owns `submitted`, the reader owns `done`, each one written with `Atomics.store` after
 * the slot's data: a reader that sees a count sees the data before it (Atomics are sequentially
 * consistent). Slot i of frame n is n mod capacity, so at most `capacity` frames are in flight.
 */

const SUBMITTED = 0;
const DONE = 1;
const HEADER_WORDS = 5;

/** RFC 6716 §3.2.1: one Opus frame is at most 1275 bytes; a packet of 20 ms frames holds up to 6 (120 ms). */
export function maxPacketBytes(frameMs: number): number {
  return 1275 * Math.max(1, Math.ceil(frameMs / 20)) + 16;
}

export interface SlotLayout {
  readonly frameSamples: number;
  readonly capacity: number;
  readonly maxPacket: number;
}

function offsets(l: SlotLayout): { lengths: number; pcm: number; packets: number; bytes: number } {
  const lengths = 4 * HEADER_WORDS;
  const pcm = lengths + 4 * l.capacity;
  const packets = pcm + 2 * l.frameSamples * l.capacity;
  return { lengths, pcm, packets, bytes: packets + l.maxPacket * l.capacity };
}

/** A ring for `layout`, shared memory unless `shared` is false (tests). */
export function createSlots(layout: SlotLayout, shared = true): ArrayBufferLike {
  if (!Number.isInteger(layout.frameSamples) || layout.frameSamples < 1 || !Number.isInteger(layout.capacity) || layout.capacity < 1 || !Number.isInteger(layout.maxPacket) || layout.maxPacket < 1) {
    throw new RangeError(`bad slot layout ${JSON.stringify(layout)}`);
  }
  const { bytes } = offsets(layout);
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const header = new Int32Array(buffer, 0, HEADER_WORDS);
  header[2] = layout.frameSamples;
  header[3] = layout.capacity;
  header[4] = layout.maxPacket;
  return buffer;
}

class SlotViews {
  readonly header: Int32Array;
  readonly lengths: Int32Array;
  readonly pcm: Int16Array;
  readonly packets: Uint8Array;
  readonly layout: SlotLayout;

  constructor(buffer: ArrayBufferLike) {
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.layout = { frameSamples: this.header[2]!, capacity: this.header[3]!, maxPacket: this.header[4]! };
    const o = offsets(this.layout);
    if (buffer.byteLength < o.bytes) throw new RangeError('slot buffer shorter than its layout');
    this.lengths = new Int32Array(buffer, o.lengths, this.layout.capacity);
    this.pcm = new Int16Array(buffer, o.pcm, this.layout.frameSamples * this.layout.capacity);
    this.packets = new Uint8Array(buffer, o.packets, this.layout.maxPacket * this.layout.capacity);
  }

  /** Frames between the two counts (int32 wrap-around safe). */
  between(from: number, to: number): number {
    return (to - from) | 0;
  }

  slot(n: number): number {
    return (n >>> 0) % this.layout.capacity;
  }
}

/** The JavaScript thread's side: puts frames in, takes packets out in the same order. */
export class SlotWriter {
  private readonly v: SlotViews;
  /** Frames whose packet has been taken (only this side reads and writes it). */
  private taken = 0;

  constructor(buffer: ArrayBufferLike) {
    this.v = new SlotViews(buffer);
  }

  get layout(): SlotLayout {
    return this.v.layout;
  }

  /** Frames submitted and not yet taken back: they occupy slots. */
  get inFlight(): number {
    return this.v.between(this.taken, Atomics.load(this.v.header, SUBMITTED));
  }

  /** Frames submitted and not yet encoded. */
  get pending(): number {
    return this.v.between(Atomics.load(this.v.header, DONE), Atomics.load(this.v.header, SUBMITTED));
  }

  /** Packets encoded and not yet taken. */
  get ready(): number {
    return this.v.between(this.taken, Atomics.load(this.v.header, DONE));
  }

  /** Copies one frame in; false (nothing written) when every slot is in flight or the length is wrong. */
  submit(pcm: Int16Array): boolean {
    const { frameSamples, capacity } = this.v.layout;
    if (pcm.length !== frameSamples || this.inFlight >= capacity) return false;
    const n = Atomics.load(this.v.header, SUBMITTED);
    this.v.pcm.set(pcm, this.v.slot(n) * frameSamples);
    Atomics.store(this.v.header, SUBMITTED, (n + 1) | 0); // publishes the PCM written above
    return true;
  }

  /**
   * The oldest encoded packet (a copy: its slot is reused at once), null when the reader could not
   * encode that frame, undefined when none is ready.
   */
  take(): Uint8Array | null | undefined {
    if (this.ready <= 0) return undefined;
    const i = this.v.slot(this.taken);
    this.taken = (this.taken + 1) | 0;
    const length = this.v.lengths[i]!;
    if (length < 0 || length > this.v.layout.maxPacket) return null;
    const start = i * this.v.layout.maxPacket;
    return this.v.packets.slice(start, start + length);
  }

  /**
   * After the reader is gone (its worker died): the PCM of the frames it never encoded, oldest
   * first, copied out; they count as taken. Take the ready packets first: they come before these.
   */
  reclaim(): Int16Array[] {
    const { frameSamples } = this.v.layout;
    const out: Int16Array[] = [];
    const submitted = Atomics.load(this.v.header, SUBMITTED);
    for (let n = Atomics.load(this.v.header, DONE); n !== submitted; n = (n + 1) | 0) {
      const start = this.v.slot(n) * frameSamples;
      out.push(this.v.pcm.slice(start, start + frameSamples));
    }
    this.taken = submitted;
    Atomics.store(this.v.header, DONE, submitted);
    return out;
  }
}

/** The worker's side: reads the oldest frame not yet encoded and completes it with its packet. */
export class SlotReader {
  private readonly v: SlotViews;

  constructor(buffer: ArrayBufferLike) {
    this.v = new SlotViews(buffer);
  }

  get layout(): SlotLayout {
    return this.v.layout;
  }

  /** The oldest frame to encode (a view into its slot, valid until `complete`), or undefined. */
  next(): Int16Array | undefined {
    const done = Atomics.load(this.v.header, DONE);
    if (this.v.between(done, Atomics.load(this.v.header, SUBMITTED)) <= 0) return undefined;
    const { frameSamples } = this.v.layout;
    const start = this.v.slot(done) * frameSamples;
    return this.v.pcm.subarray(start, start + frameSamples);
  }

  /** Stores the packet of the frame `next` returned (null: it could not be encoded) and releases it. */
  complete(packet: Uint8Array | null): void {
    const done = Atomics.load(this.v.header, DONE);
    const i = this.v.slot(done);
    if (packet && packet.length <= this.v.layout.maxPacket) {
      this.v.packets.set(packet, i * this.v.layout.maxPacket);
      this.v.lengths[i] = packet.length;
    } else {
      this.v.lengths[i] = -1; // a packet larger than the slot cannot be sent whole: the frame is dropped
    }
    Atomics.store(this.v.header, DONE, (done + 1) | 0); // publishes the packet written above
  }
}

/**
 * One worker's wake-up words: the JavaScript thread rings `doorbell` (increments it, then
 * `Atomics.notify`) after submitting frames; the worker stores in `completed` the doorbell value it
 * had read before its last pass over its rings, then notifies. The JavaScript thread awaits a change
 * of `completed` with `Atomics.waitAsync`, never `Atomics.wait` (it must not block).
 */
export const DOORBELL = 0;
export const COMPLETED = 1;
export const SIGNAL_WORDS = 2;
