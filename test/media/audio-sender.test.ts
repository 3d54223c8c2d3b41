import { describe, expect, it } from 'vitest';
import { AudioSender, type AudioSenderOptions } from '../../src/media/audio-sender.js';
import { defaultOpusCodec } from '../../src/media/opus-codec.js';
import { decodeAbsSendTime, decodeTransportSequence, findExtension, parseRtp, type RtpPacket } from '../../src/media/rtp.js';
import { ToneGenerator } from '../../src/media/tone.js';

const codec = defaultOpusCodec();

function sender(o: Partial<AudioSenderOptions> = {}): AudioSender {
  const frameMs = o.frameMs ?? 20;
  return new AudioSender({
    ssrc: 0x11223344,
    payloadType: 111,
    encoder: codec.createEncoder({ channels: 1, bitrate: 32000, frameMs, fec: true, packetLossPercent: 10, dtx: o.dtx ?? false, complexity: 5 }),
    initialSequence: 65534,
    initialTimestamp: 0xffffffff - 959,
    ...o,
  });
}

function parse(buf: Buffer): RtpPacket {
  const r = parseRtp(buf);
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
}

describe('audio sender', () => {
  it('sends one packet per 20 ms deadline with continuous sequence numbers and timestamps across the wrap', () => {
    const s = sender();
    s.start(1000);
    const tone = new ToneGenerator({ frequency: 440 });
    const packets: RtpPacket[] = [];
    for (let t = 1000; t < 1400; t += 20) {
      if (t < 1200) s.write(tone.next(960)); // then nothing: silence fill
      expect(s.tick(t - 1)).toEqual([]); // not due yet
      const out = s.tick(t);
      expect(out).toHaveLength(1);
      packets.push(parse(out[0]!));
    }
    packets.forEach((p, i) => {
      expect(p.ssrc).toBe(0x11223344);
      expect(p.payloadType).toBe(111);
      expect(p.sequenceNumber).toBe((65534 + i) & 0xffff);
      expect(p.timestamp).toBe((0xffffffff - 959 + i * 960) >>> 0);
    });
    expect(packets[0]!.marker).toBe(true);
    expect(packets.slice(1).every((p) => !p.marker)).toBe(true);
    expect(s.getStats()).toMatchObject({ packets: 20, audioFrames: 10, silenceFrames: 10 });
  });

  it('switches payload type and header extensions when the negotiation answers', () => {
    const s = sender();
    s.start(0);
    const first = s.tick(0)[0];
    expect(first).toBeDefined();
    const before = parse(first!);
    expect(before.payloadType).toBe(111);
    expect(findExtension(before, 2)).toBeUndefined();
    s.setRtpParams(100, { absSendTime: 2, transportWideCc: 3 });
    const after = parse(s.tick(20)[0]!);
    expect(after.payloadType).toBe(100);
    expect(after.sequenceNumber).toBe((before.sequenceNumber + 1) & 0xffff);
    expect(decodeAbsSendTime(findExtension(after, 2)!)).toBeGreaterThanOrEqual(0);
    const next = parse(s.tick(40)[0]!);
    expect(decodeTransportSequence(findExtension(next, 3)!)).toBe(((decodeTransportSequence(findExtension(after, 3)!) ?? -2) + 1) & 0xffff);
  });

  it('is drift-free: deadlines are start + n × 20 ms however late the ticks are', () => {
    const s = sender();
    s.start(0);
    let count = 0;
    for (let n = 0; n < 500; n += 1) {
      const late = (n * 7) % 13; // ticks arrive 0–12 ms late
      count += s.tick(n * 20 + late).length;
      expect(s.nextDeadline).toBe((n + 1) * 20);
    }
    expect(count).toBe(500);
  });

  it('catches up at most ten frames after a stall, the most recent ones, keeping timestamps in step', () => {
    const s = sender();
    s.start(0);
    const first = parse(s.tick(0)[0]!);
    const burst = s.tick(300).map(parse); // 15 frames late
    expect(burst).toHaveLength(10);
    expect(s.getStats().skippedFrames).toBe(5);
    // Slots 1…5 skipped, 6…15 sent: the burst reaches the peer as little late as possible.
    expect((burst[0]!.timestamp - first.timestamp) >>> 0).toBe(6 * 960);
    expect(burst[0]!.sequenceNumber).toBe((first.sequenceNumber + 1) & 0xffff);
    const next = parse(s.tick(320)[0]!);
    expect((next.timestamp - parse(s.tick(340)[0]!).timestamp) >>> 0).toBe(-960 >>> 0);
    expect((next.timestamp - burst[9]!.timestamp) >>> 0).toBe(960);
    expect(next.sequenceNumber).toBe((burst[9]!.sequenceNumber + 1) & 0xffff);
    expect(s.getStats().inputDroppedSamples).toBe(0); // nothing queued, nothing dropped
  });

  it('paced input keeps every sample through a stall; live input drops the stale audio of the skipped slots', () => {
    const run = (mode: 'live' | 'paced'): AudioSender => {
      const s = sender();
      s.start(0);
      const tone = new ToneGenerator({ frequency: 440 });
      s.tick(0);
      for (let k = 0; k < 25; k += 1) s.write(tone.next(960), mode); // 500 ms captured during a stall
      s.tick(500);
      return s;
    };
    const paced = run('paced');
    expect(paced.getStats()).toMatchObject({ skippedFrames: 15, audioFrames: 10, inputDroppedSamples: 0 });
    expect(paced.queuedMs).toBe(300);
    const live = run('live');
    // Five frames (100 ms) of catch-up; the 20 slots before them are skipped with their audio.
    expect(live.getStats()).toMatchObject({ skippedFrames: 20, audioFrames: 5, inputDroppedSamples: 20 * 960, liveCuts: 1 });
    expect(live.queuedMs).toBe(0);
  });

  it('live input: a backlog that persists above 40 ms is cut within one 500 ms window; chunky or jittery delivery is not', () => {
    const tone = new ToneGenerator({ frequency: 440 });
    const backlogged = sender();
    backlogged.start(0);
    for (let k = 0; k < 10; k += 1) backlogged.write(tone.next(960), 'live'); // 200 ms ahead
    const queued: number[] = [];
    for (let n = 0; n < 50; n += 1) {
      backlogged.write(tone.next(960), 'live'); // then one frame per frame, like a microphone
      backlogged.tick(n * 20);
      queued.push(backlogged.queuedMs);
    }
    expect(queued[10]).toBe(200);
    expect(queued[30]).toBeLessThanOrEqual(10); // cut to the 10 ms margin at the window's end
    expect(backlogged.getStats().liveCuts).toBe(1);
    expect(backlogged.getStats().inputDroppedSamples).toBe(190 * 48);

    const chunky = sender();
    chunky.start(0);
    for (let n = 0; n < 100; n += 1) {
      if (n % 5 === 0) chunky.write(tone.next(5 * 960), 'live'); // 100 ms buffers, as many capture APIs deliver
      chunky.tick(n * 20);
    }
    expect(chunky.getStats()).toMatchObject({ liveCuts: 0, inputDroppedSamples: 0, audioFrames: 100 });
  });

  it('marks talk-spurt starts', () => {
    const s = sender();
    s.start(0);
    const tone = new ToneGenerator({ frequency: 440 });
    const marks: boolean[] = [];
    for (let n = 0; n < 12; n += 1) {
      if (n < 3 || n >= 6) s.write(tone.next(960));
      if (n === 9) s.mute();
      if (n === 10) s.unmute();
      marks.push(parse(s.tick(n * 20)[0]!).marker);
    }
    // first packet; audio again after fill silence (n=6); audio again after mute (n=10)
    expect(marks.map((m, i) => (m ? i : -1)).filter((i) => i >= 0)).toEqual([0, 6, 10]);
  });

  it('adds abs-send-time and transport-wide sequence numbers with the negotiated ids', () => {
    const s = sender({ extensionIds: { absSendTime: 2, transportWideCc: 3 }, initialTransportSequence: 65535 });
    s.start(5000);
    const a = parse(s.tick(5000)[0]!);
    const b = parse(s.tick(5020)[0]!);
    expect(a.extensions.map((e) => e.id)).toEqual([2, 3]);
    expect(decodeTransportSequence(findExtension(a, 3)!)).toBe(65535);
    expect(decodeTransportSequence(findExtension(b, 3)!)).toBe(0);
    const d = (decodeAbsSendTime(findExtension(b, 2)!)! - decodeAbsSendTime(findExtension(a, 2)!)!) & 0xffffff;
    expect(Math.abs(d - 0.02 * 2 ** 18)).toBeLessThanOrEqual(1);
    const plain = sender();
    plain.start(0);
    expect(parse(plain.tick(0)[0]!).extensions).toEqual([]);
  });

  it("mute 'silence' keeps sending encoded silence; 'pause' sends nothing and resumes with the marker", () => {
    const tone = new ToneGenerator({ frequency: 440 });
    const silent = sender();
    silent.start(0);
    silent.mute();
    const sizes: number[] = [];
    for (let n = 0; n < 30; n += 1) {
      silent.write(tone.next(960)); // the application keeps writing; muted audio is not sent
      sizes.push(parse(silent.tick(n * 20)[0]!).payload.length);
    }
    expect(silent.getStats()).toMatchObject({ packets: 30, mutedFrames: 30, audioFrames: 0 });
    expect(silent.getStats().cachedSilenceFrames).toBe(20); // the encoder ran for the first 10 frames only
    expect(Math.max(...sizes.slice(12))).toBeLessThan(40);

    const paused = sender({ muteMode: 'pause' });
    paused.start(0);
    const first = parse(paused.tick(0)[0]!);
    paused.mute();
    for (let n = 1; n < 10; n += 1) expect(paused.tick(n * 20)).toEqual([]);
    paused.unmute();
    paused.write(tone.next(960));
    const resumed = parse(paused.tick(200)[0]!);
    expect(resumed.marker).toBe(true);
    expect(resumed.sequenceNumber).toBe((first.sequenceNumber + 1) & 0xffff);
    expect((resumed.timestamp - first.timestamp) >>> 0).toBe(10 * 960);
  });

  it('suppresses DTX packets except a keepalive every 400 ms', () => {
    const s = sender({ dtx: true });
    s.start(0);
    let sent = 0;
    for (let n = 0; n < 100; n += 1) sent += s.tick(n * 20).length;
    expect(s.getStats().suppressedFrames).toBeGreaterThan(70);
    expect(sent).toBeGreaterThan(4); // first frames + keepalives
  });

  it('mixes stereo input down and bounds the input queue', () => {
    const s = sender({ inputChannels: 2, maxQueueMs: 100 });
    s.start(0);
    const stereo = new ToneGenerator({ frequency: 440, channels: 2 }).next(48 * 300);
    const dropped = s.write(stereo);
    expect(dropped).toBe(48 * 200);
    expect(s.queuedMs).toBe(100);
    for (let n = 0; n < 5; n += 1) s.tick(n * 20);
    expect(s.queuedMs).toBe(0);
    expect(s.getStats().audioFrames).toBe(5);
  });

  it('pads the last partial frame once the source has ended', () => {
    const s = sender();
    s.start(0);
    s.write(new ToneGenerator({ frequency: 440 }).next(500));
    s.tick(0);
    expect(s.getStats().audioFrames).toBe(0); // waits for a whole frame
    s.flush();
    s.tick(20);
    expect(s.getStats().audioFrames).toBe(1);
    expect(s.queuedMs).toBe(0);
  });
});
