/** The codec worker hand-over ring, both sides in one thread over a plain buffer (sans-I/O). */
import { describe, expect, it } from 'vitest';
import { createSlots, maxPacketBytes, SlotReader, SlotWriter } from '../../src/media/codec-slots.js';

const layout = { frameSamples: 960, capacity: 4, maxPacket: maxPacketBytes(20) };

function frame(value: number): Int16Array {
  return new Int16Array(960).fill(value);
}

/** A fake encoder: the packet says which frame it came from (its first sample), with a length that varies. */
function encodeFake(pcm: Int16Array): Uint8Array {
  const v = pcm[0]!;
  return new Uint8Array(3 + (v % 7)).fill(v & 0xff);
}

function pair(shared = false): { writer: SlotWriter; reader: SlotReader } {
  const buffer = createSlots(layout, shared);
  return { writer: new SlotWriter(buffer), reader: new SlotReader(buffer) };
}

describe('codec slots', () => {
  it('returns each packet of the frames submitted, in order, once the reader completed them', () => {
    const { writer, reader } = pair();
    expect(writer.take()).toBeUndefined();
    expect(reader.next()).toBeUndefined();
    expect(writer.submit(frame(1))).toBe(true);
    expect(writer.submit(frame(2))).toBe(true);
    expect(writer.pending).toBe(2);
    expect(writer.take()).toBeUndefined(); // not encoded yet
    const pcm = reader.next()!;
    expect(pcm[0]).toBe(1);
    reader.complete(encodeFake(pcm));
    expect(writer.ready).toBe(1);
    expect(writer.take()).toEqual(encodeFake(frame(1)));
    expect(writer.take()).toBeUndefined();
    reader.complete(encodeFake(reader.next()!));
    expect(reader.next()).toBeUndefined();
    expect(writer.take()).toEqual(encodeFake(frame(2)));
    expect(writer.inFlight).toBe(0);
  });

  it('refuses a frame when every slot is in flight (until a packet is taken) and a frame of the wrong length', () => {
    const { writer, reader } = pair();
    for (let i = 1; i <= 4; i += 1) expect(writer.submit(frame(i))).toBe(true);
    expect(writer.submit(frame(5))).toBe(false);
    reader.complete(encodeFake(reader.next()!));
    expect(writer.submit(frame(5))).toBe(false); // encoded but not taken: its slot is still in use
    writer.take();
    expect(writer.submit(frame(5))).toBe(true);
    expect(writer.submit(new Int16Array(480))).toBe(false);
  });

  it('keeps order over many wraps of the ring and of the counters, with packets copied out of their slots', () => {
    const { writer, reader } = pair();
    const got: number[] = [];
    let sent = 0;
    // Uneven progress on both sides: the writer runs ahead, the reader catches up in bursts.
    for (let round = 0; round < 2000; round += 1) {
      while (writer.submit(frame((sent % 30000) + 1))) sent += 1;
      const burst = round % 3;
      for (let k = 0; k <= burst; k += 1) {
        const pcm = reader.next();
        if (!pcm) break;
        reader.complete(encodeFake(pcm));
      }
      for (let p = writer.take(); p; p = writer.take()) got.push(p[0]!);
    }
    expect(got.length).toBeGreaterThan(3000);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => ((i % 30000) + 1) & 0xff));
  });

  it('reports a frame the reader could not encode (or whose packet exceeds the slot) as null, and goes on', () => {
    const { writer, reader } = pair();
    writer.submit(frame(1));
    writer.submit(frame(2));
    writer.submit(frame(3));
    reader.next();
    reader.complete(null);
    reader.next();
    reader.complete(new Uint8Array(layout.maxPacket + 1));
    reader.complete(encodeFake(reader.next()!));
    expect(writer.take()).toBeNull();
    expect(writer.take()).toBeNull();
    expect(writer.take()).toEqual(encodeFake(frame(3)));
  });

  it('after the reader is gone, gives back the PCM of the frames it never encoded, oldest first, and frees the ring', () => {
    const { writer, reader } = pair();
    writer.submit(frame(1));
    writer.submit(frame(2));
    writer.submit(frame(3));
    reader.complete(encodeFake(reader.next()!));
    expect(writer.take()).toEqual(encodeFake(frame(1)));
    const left = writer.reclaim();
    expect(left.map((p) => p[0])).toEqual([2, 3]);
    expect(writer.inFlight).toBe(0);
    expect(writer.pending).toBe(0);
    expect(writer.take()).toBeUndefined();
    for (let i = 0; i < 4; i += 1) expect(writer.submit(frame(7))).toBe(true);
    expect(left.map((p) => p[0])).toEqual([2, 3]); // copies: the slots they came from are reused
  });

  it('works over shared memory, and rejects a layout that does not fit', () => {
    const { writer, reader } = pair(true);
    writer.submit(frame(9));
    reader.complete(encodeFake(reader.next()!));
    expect(writer.take()).toEqual(encodeFake(frame(9)));
    expect(() => createSlots({ frameSamples: 0, capacity: 1, maxPacket: 1 })).toThrow(RangeError);
    expect(maxPacketBytes(120)).toBeGreaterThanOrEqual(6 * 1275);
  });
});
