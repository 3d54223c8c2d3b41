/**
 * Drives one call for the CLI and the examples once it is placed or answered: plays a WAV file or
 * a tone, records the other side, meters both directions for the progress line, hangs up after a
 * time limit, and reports what happened.
 */
import type { Call, CallEmoji, CallEndInfo } from '../call/call.js';
import { readWavFile } from '../media/index.js';
import { toneFrames } from '../media/tone.js';
import { LevelMeter } from './levels.js';
import { ProgressLine, type ProgressOutput } from './progress.js';

export interface CallPlan {
  /** Shown before events and on the progress line (e.g. "alice"). */
  readonly label: string;
  /** WAV file to say once connected. */
  readonly play?: string;
  /** A continuous tone (Hz) to say once connected, when no file is given. */
  readonly tone?: number;
  /** WAV file to record the other side into. */
  readonly record?: string;
  /**
   * Seconds to stay connected before hanging up. Default: the length of `play` plus one second,
   * else until the other side hangs up.
   */
  readonly seconds?: number;
  /** Where the progress line goes; none when undefined. */
  readonly progress?: ProgressOutput;
  /** Receives one line per call event (state, emoji, connected, ended). */
  readonly onEvent?: (line: string) => void;
}

export interface CallReport {
  readonly connected: boolean;
  /** Transport setup (ICE + DTLS), ms. */
  readonly connectMs: number | undefined;
  readonly emoji: CallEmoji | undefined;
  readonly version: string | undefined;
  readonly end: CallEndInfo;
  /** Milliseconds recorded into `plan.record`. */
  readonly recordedMs: number | undefined;
}

const FRAME_SAMPLES = 960;
const PROGRESS_EVERY_MS = 250;

export async function runCall(call: Call, plan: CallPlan): Promise<CallReport> {
  const say = (line: string): void => plan.onEvent?.(`${plan.label}: ${line}`);
  const inMeter = new LevelMeter();
  const outMeter = new LevelMeter();
  const progress = plan.progress ? new ProgressLine(plan.progress) : undefined;
  let connectedAt: number | undefined;
  const snapshot = (force = false): void => {
    const now = Date.now();
    progress?.update(
      {
        label: plan.label,
        state: call.state,
        talkMs: connectedAt === undefined ? undefined : now - connectedAt,
        inDb: inMeter.read(now),
        outDb: outMeter.read(now),
        muted: call.muted,
      },
      now,
      force,
    );
  };
  const ticker = progress ? setInterval(() => snapshot(), PROGRESS_EVERY_MS) : undefined;

  const onState = (state: string): void => {
    // the progress line shows the state; 'ended' gets its own line with the reason
    if (!progress && state !== 'ended') say(state);
  };
  const onEmoji = (e: CallEmoji): void => say(`emoji ${e.emoji.join(' ')}`);
  call.on('state', onState);
  call.on('emoji', onEmoji);
  if (call.emoji) onEmoji(call.emoji);

  let hangupTimer: NodeJS.Timeout | undefined;
  try {
    try {
      await call.whenConnected();
    } catch {
      const end = await call.whenEnded();
      return report(call, false, end, undefined);
    }
    connectedAt = Date.now();
    say(`connected: media path up in ${formatMs(call.getStats().connectMs)} (library version ${call.version ?? '?'})`);

    const recorder = plan.record ? await call.record(plan.record) : undefined;
    void meterIncoming(call, inMeter);

    const file = plan.play ? await readWavFile(plan.play) : undefined;
    const seconds = plan.seconds ?? (file ? file.length / 48000 + 1 : undefined);
    if (seconds !== undefined && Number.isFinite(seconds)) {
      hangupTimer = setTimeout(() => void call.hangup().catch(() => undefined), Math.max(0, seconds * 1000));
    }
    if (file) void call.audio.play(metered(chunksOf(file), outMeter));
    else if (plan.tone !== undefined) {
      const frequency = plan.tone;
      void call.audio.play(metered(toneFrames({ frequency, amplitude: 0.5, more: () => call.state === 'connected' }), outMeter));
    }

    const end = await call.whenEnded();
    const recordedMs = recorder ? await recorder.done : undefined;
    return report(call, true, end, recordedMs);
  } finally {
    if (hangupTimer) clearTimeout(hangupTimer);
    if (ticker) clearInterval(ticker);
    if (progress) {
      snapshot(true);
      progress.done();
    }
    call.off('state', onState);
    call.off('emoji', onEmoji);
    const end = call.ended;
    if (end) say(`ended: ${end.reason} by ${end.by} after ${end.duration} s${end.error ? ` (${end.error.code}: ${end.error.message})` : ''}`);
  }
}

export function formatMs(ms: number | undefined): string {
  return ms === undefined ? '? ms' : `${Math.round(ms)} ms`;
}

function report(call: Call, connected: boolean, end: CallEndInfo, recordedMs: number | undefined): CallReport {
  return { connected, connectMs: call.getStats().connectMs, emoji: call.emoji, version: call.version, end, recordedMs };
}

async function meterIncoming(call: Call, meter: LevelMeter): Promise<void> {
  for await (const frame of call.audio.frames()) meter.push(frame.pcm, Date.now());
}

function* chunksOf(pcm: Int16Array): Generator<Int16Array> {
  for (let i = 0; i < pcm.length; i += FRAME_SAMPLES) yield pcm.subarray(i, i + FRAME_SAMPLES);
}

function* metered(source: Iterable<Int16Array>, meter: LevelMeter): Generator<Int16Array> {
  for (const chunk of source) {
    meter.push(chunk, Date.now());
    yield chunk;
  }
}
