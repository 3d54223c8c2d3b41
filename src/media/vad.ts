/**
 * Energy-based voice activity detection with hangover, for voice agents that want to know when
 * the peer talks. A frame is a voice candidate when its RMS level is above an absolute gate and
 * a margin above the noise floor; activity starts after `attackFrames` candidates in a row and
 * ends `hangoverMs` after the last one (so pauses between words do not split an utterance).
 * The noise floor is the quietest frame of the last 1.5 s (speech always has quiet moments,
 * steady noise does not), capped so that loud steady sound still counts as signal.
 */
import { rmsDbfs } from './pcm.js';

export interface VadOptions {
  /** Frame duration the detector is fed with, ms. Default 20. */
  frameMs?: number;
  /** Levels below this are never voice. Default −50 dBFS. */
  minLevelDbfs?: number;
  /** Margin above the noise floor. Default 10 dB. */
  marginDb?: number;
  /** Candidates in a row needed to start. Default 2 (40 ms). */
  attackFrames?: number;
  /** How long activity lasts after the last candidate. Default 300 ms. */
  hangoverMs?: number;
}

/** The floor never rises above this: louder steady sound is treated as signal. */
const FLOOR_CEILING_DBFS = -40;
const FLOOR_WINDOW_MS = 1500;
/** Digital silence counts as this level. */
const SILENCE_DBFS = -100;

export class VoiceActivityDetector {
  private readonly minLevel: number;
  private readonly margin: number;
  private readonly attack: number;
  private readonly hangoverFrames: number;
  private readonly levels: Float64Array;
  private levelCount = 0;
  private levelHead = 0;
  private floor = FLOOR_CEILING_DBFS;
  private run = 0;
  private sinceVoice = Infinity;
  private isActive = false;
  private lastLevel = -Infinity;

  constructor(options: VadOptions = {}) {
    const frameMs = options.frameMs ?? 20;
    this.minLevel = options.minLevelDbfs ?? -50;
    this.margin = options.marginDb ?? 10;
    this.attack = Math.max(1, options.attackFrames ?? 2);
    this.hangoverFrames = Math.max(0, Math.round((options.hangoverMs ?? 300) / frameMs));
    this.levels = new Float64Array(Math.max(1, Math.round(FLOOR_WINDOW_MS / frameMs)));
  }

  get active(): boolean {
    return this.isActive;
  }

  /** Level of the last frame, dBFS. */
  get levelDbfs(): number {
    return this.lastLevel;
  }

  get noiseFloorDbfs(): number {
    return this.floor;
  }

  /** Feeds one frame; returns whether voice is active after it. */
  process(pcm: Int16Array): boolean {
    const level = Math.max(SILENCE_DBFS, rmsDbfs(pcm));
    this.lastLevel = level;
    this.levels[this.levelHead] = level;
    this.levelHead = (this.levelHead + 1) % this.levels.length;
    if (this.levelCount < this.levels.length) this.levelCount += 1;
    let quietest = Infinity;
    for (let i = 0; i < this.levelCount; i += 1) quietest = Math.min(quietest, this.levels[i]!);
    this.floor = Math.min(FLOOR_CEILING_DBFS, quietest);
    const candidate = level > this.minLevel && level > this.floor + this.margin;
    if (candidate) {
      this.run += 1;
      this.sinceVoice = 0;
      if (this.run >= this.attack) this.isActive = true;
    } else {
      this.run = 0;
      this.sinceVoice += 1;
      if (this.sinceVoice > this.hangoverFrames) this.isActive = false;
    }
    return this.isActive;
  }

  reset(): void {
    this.floor = FLOOR_CEILING_DBFS;
    this.levelCount = 0;
    this.levelHead = 0;
    this.run = 0;
    this.sinceVoice = Infinity;
    this.isActive = false;
  }
}
