/**
 * The real-time edge: two MediaSessions on real timers, wired back to back through an in-process
 * sink, with audio in through the Writable / play() and out through the Readable / frames().
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MediaError } from '../../src/errors.js';
import { detectTone } from '../../src/media/goertzel.js';
import { MediaSession, type AudioFrame, type MediaSink } from '../../src/media/media-session.js';
import { bytesToSamples, samplesToBuffer } from '../../src/media/pcm.js';
import { ToneGenerator } from '../../src/media/tone.js';

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Delivers asynchronously, like a socket would. */
function linkTo(peer: () => MediaSession): MediaSink {
  return {
    sendRtp: (p) => setImmediate(() => peer().handleRtp(p)),
    sendRtcp: (p) => setImmediate(() => peer().handleRtcp(p)),
  };
}

describe('media session (real timers)', () => {
  it('carries audio both ways through Writable/play() and Readable/frames(), then releases its timer', async () => {
    const baseline = timeouts();
    let a!: MediaSession;
    let b!: MediaSession;
    // A pipes a source much faster than real time into `input`: that is paced input (lossless, backpressure).
    a = new MediaSession({ ssrc: 1001, payloadType: 111, extensionIds: { absSendTime: 2, transportWideCc: 3 }, inputMode: 'paced' }, linkTo(() => b));
    b = new MediaSession({ ssrc: 2002, payloadType: 111, channels: 2, outputBufferFrames: 25 }, linkTo(() => a));
    const voiceStarts: number[] = [];
    const bErrors: string[] = [];
    // A throwing listener, inside B's frame tick: isolated, forwarded to 'error', and the tick
    // (and A's session on the same shared timer) goes on.
    b.on('voiceStart', () => {
      throw new Error('voice listener bug');
    });
    b.on('voiceStart', () => voiceStarts.push(Date.now()));
    b.on('error', (err) => bErrors.push(err.message));
    a.on('close', () => {
      throw new Error('close listener bug');
    });
    a.start();
    b.start();
    expect(timeouts()).toBe(baseline + 1); // sessions on the same clock share one frame timer

    // A: 3 s of 880 Hz written through the Writable with backpressure (the source is much faster than real time).
    const toneA = new ToneGenerator({ frequency: 880 });
    const source = Readable.from((function* () {
      for (let i = 0; i < 30; i += 1) yield samplesToBuffer(toneA.next(4800));
    })());
    const sending = pipeline(source, a.input);

    // B: 440 Hz stereo through play().
    const toneB = new ToneGenerator({ frequency: 440, channels: 2 });
    const playing = b.play((async function* () {
      for (let i = 0; i < 30; i += 1) yield toneB.next(4800);
    })());

    // B's output as bytes; A's output as frames. Nobody reads A.output: it must stay bounded.
    const bBytes: Buffer[] = [];
    b.output.on('data', (chunk: Buffer) => bBytes.push(chunk));
    const aFrames: AudioFrame[] = [];
    const collecting = (async () => {
      for await (const f of a.frames()) aFrames.push(f);
    })();

    await sleep(1000);
    // Backpressure: far less than the 3 s written so far is queued.
    expect(a.getStats().sent.queuedMs).toBeLessThanOrEqual(200 + 100 + 20); // high-water mark + one chunk
    await Promise.all([sending, playing]);
    await sleep(2600);

    const aStats = a.getStats();
    const bStats = b.getStats();
    const bEnded = once(b.output, 'end');
    a.close();
    b.close();
    a.close(); // idempotent
    await collecting; // frames() ends on close
    await bEnded; // the Readable ends on close
    expect(timeouts()).toBeLessThanOrEqual(baseline); // the shared frame timer released

    // B heard A's tone (its output is stereo: analyse the left channel).
    const bPcm = bytesToSamples(Buffer.concat(bBytes));
    expect(bPcm.length).toBeGreaterThan(2 * 48 * 3000);
    const heardByB = detectTone(bPcm.subarray(2 * 48 * 500, 2 * 48 * 3000), 880, { channels: 2 });
    expect(heardByB.fraction).toBeGreaterThanOrEqual(0.9);
    expect(voiceStarts.length).toBeGreaterThanOrEqual(1);
    expect(bErrors.length).toBe(voiceStarts.length);
    expect(new Set(bErrors)).toEqual(new Set(['voice listener bug']));

    // A heard B's tone, downmixed to mono by the encoder.
    const aPcm = new Int16Array(aFrames.length * 960);
    aFrames.forEach((f, i) => aPcm.set(f.pcm, i * 960));
    expect(aFrames.length).toBeGreaterThan(150);
    expect(aFrames.every((f) => f.pcm.length === 960)).toBe(true);
    expect(detectTone(aPcm.subarray(48 * 500, 48 * 3000), 440).fraction).toBeGreaterThanOrEqual(0.9);
    expect(aFrames.some((f) => f.rtpTimestamp !== undefined)).toBe(true);
    // Timestamps are 20 ms apart on the session clock.
    expect(aFrames[10]!.timestamp - aFrames[9]!.timestamp).toBe(20);

    expect(aStats.sent.packets).toBeGreaterThan(150);
    expect(aStats.received.packets).toBeGreaterThan(150);
    expect(aStats.outputDroppedFrames).toBeGreaterThan(50); // A.output was never read
    expect(bStats.received.lost).toBe(0);
  }, 15_000);

  it('never throws into the transport, even when the sink throws', async () => {
    const errors: Error[] = [];
    const s = new MediaSession({ ssrc: 1, payloadType: 111 }, {
      sendRtp: () => {
        throw new Error('socket closed');
      },
      sendRtcp: () => undefined,
    });
    s.on('error', (e) => errors.push(e));
    s.start();
    s.handleRtp(Buffer.from([1, 2, 3]));
    s.handleRtcp(Buffer.alloc(100, 0xff));
    await sleep(120);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MediaError);
    expect((errors[0] as MediaError).code).toBe('MEDIA_SEND_FAILED');
    s.close();
    expect(s.closed).toBe(true);
    expect(s.getStats().received.invalid).toBe(1);
  });

  it('live input is never paused and its backlog is cut; play() paces and keeps everything', async () => {
    const sink: MediaSink = { sendRtp: () => undefined, sendRtcp: () => undefined };
    const live = new MediaSession({ ssrc: 3, payloadType: 111 }, sink);
    const paced = new MediaSession({ ssrc: 4, payloadType: 111, inputHighWaterMs: 100 }, sink);
    live.start();
    paced.start();
    const tone = new ToneGenerator({ frequency: 440 });
    // 800 ms at once, as a source that stalled and caught up: the write completes at once.
    await new Promise<void>((resolve, reject) => live.input.write(samplesToBuffer(tone.next(48 * 800)), (err) => (err ? reject(err) : resolve())));
    const playing = paced.play([tone.next(48 * 800)]);
    await sleep(700); // more than one 500 ms backlog window
    expect(live.queuedInputMs).toBeLessThanOrEqual(40);
    expect(live.getStats().sent.liveCuts).toBeGreaterThanOrEqual(1);
    expect(live.getStats().sent.inputDroppedMs).toBeGreaterThan(200); // what the window had not sent yet
    await playing; // resolves once the rest fits under the high-water mark
    expect(paced.getStats().sent).toMatchObject({ inputDroppedMs: 0, liveCuts: 0 });
    live.close();
    paced.close();
  });

  it('rejects stereo PCM with a dangling sample and ignores writes after close', async () => {
    const s = new MediaSession({ ssrc: 1, payloadType: 111, channels: 2 }, { sendRtp: () => undefined, sendRtcp: () => undefined });
    expect(() => s.pushFrame(new Int16Array(3))).toThrow(MediaError);
    s.close();
    s.pushFrame(new Int16Array(4));
    await new Promise<void>((resolve, reject) => s.input.write(Buffer.alloc(8), (err) => (err ? reject(err) : resolve())));
    s.start(); // no effect after close
    expect(s.getStats().sent.packets).toBe(0);
  });

  it('return() of a frames() iterator also ends a next() that is already waiting', async () => {
    const session = new MediaSession({ ssrc: 3003, payloadType: 111 }, { sendRtp: () => undefined, sendRtcp: () => undefined });
    const iterator = session.frames()[Symbol.asyncIterator]();
    const waiting = iterator.next(); // nothing received: this waits
    await iterator.return?.();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
    session.close();
  });
});
