/**
 * The sender's live-input policy (audio-sender.ts, "Two input policies"): the backlog a live source
 * keeps queued is measured over a window and cut with a crossfade. Apart from the sender because it
 * is one policy on the input queue, with its own window state, independent of packetization.
 */
import type { PcmQueue } from './pcm-queue.js';

/** Live backlog measurement window: longer than the chunk period of any real capture API. */
const LIVE_WINDOW_MS = 500;
/** What a live cut leaves queued: a margin against the source's own jitter. */
const LIVE_KEEP_MS = 10;
const CUT_FADE_SAMPLES = 240; // 5 ms

export class LiveBacklog {
  private readonly queue: PcmQueue;
  /** Samples of persisting backlog tolerated. */
  private readonly maxBacklog: number;
  private readonly windowFrames: number;
  /** Smallest queue level after a frame was taken, in the current live window. */
  private windowMin = Infinity;
  private frames = 0;

  constructor(queue: PcmQueue, frameMs: number, maxLiveBacklogMs: number) {
    this.queue = queue;
    this.maxBacklog = 48 * Math.max(0, maxLiveBacklogMs);
    this.windowFrames = Math.max(1, Math.ceil(LIVE_WINDOW_MS / frameMs));
  }

  /**
   * A frame was taken from the queue: tracks the level the clock never consumes, and cuts it when
   * too large at the end of the window. Returns the samples dropped (0: no cut).
   */
  frameTaken(): number {
    this.windowMin = Math.min(this.windowMin, this.queue.length);
    this.frames += 1;
    if (this.frames < this.windowFrames) return 0;
    let dropped = 0;
    if (this.windowMin > this.maxBacklog) {
      dropped = this.cut(this.windowMin - 48 * LIVE_KEEP_MS);
    }
    this.reset();
    return dropped;
  }

  /** Drops up to `samples` from the front of the queue with a crossfade; returns how many went. */
  cut(samples: number): number {
    return this.queue.discard(Math.min(samples, this.queue.length), CUT_FADE_SAMPLES);
  }

  /** Starts a new window. */
  reset(): void {
    this.windowMin = Infinity;
    this.frames = 0;
  }

  /**
   * After a stall: a live source delivers what it captured during the stall right after it (the
   * frame timer runs before I/O callbacks), so the backlog is judged at the next frame, not a
   * window later.
   */
  judgeAtNextFrame(): void {
    this.windowMin = Infinity;
    this.frames = this.windowFrames - 1;
  }
}
