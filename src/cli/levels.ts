/** Audio level metering for the CLI's progress line (pure). */

/** RMS level of s16 samples in dBFS (full-scale sine ≈ -3 dBFS); -Infinity for digital silence. */
export function levelDbfs(pcm: Int16Array): number {
  if (pcm.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < pcm.length; i += 1) {
    const s = pcm[i]! / 32768;
    sum += s * s;
  }
  const rms = Math.sqrt(sum / pcm.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms);
}

/**
 * Keeps the loudest recent level with a slow fall, like a VU meter, so a 20 ms frame does not
 * flicker the display. Time comes in from the caller (sans-I/O).
 */
export class LevelMeter {
  private peak = -Infinity;
  private at = 0;

  constructor(private readonly fallDbPerSecond = 20) {}

  push(pcm: Int16Array, nowMs: number): void {
    const level = levelDbfs(pcm);
    const current = this.read(nowMs);
    if (level >= current) {
      this.peak = level;
      this.at = nowMs;
    }
  }

  read(nowMs: number): number {
    if (this.peak === -Infinity) return -Infinity;
    return this.peak - (Math.max(0, nowMs - this.at) / 1000) * this.fallDbPerSecond;
  }
}

/** A fixed-width bar for a level between -60 and 0 dBFS. */
export function levelBar(db: number, width = 8): string {
  const fraction = Number.isFinite(db) ? Math.max(0, Math.min(1, (db + 60) / 60)) : 0;
  const filled = Math.round(fraction * width);
  return '#'.repeat(filled) + '.'.repeat(width - filled);
}

export function formatDb(db: number): string {
  return Number.isFinite(db) && db > -90 ? `${Math.round(db).toString().padStart(3)} dB` : ' -∞ dB';
}
