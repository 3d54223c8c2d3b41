/**
 * Checks shared by the interop tests that run an ntgcalls pair: wait for recorded audio, then
 * assert each side heard the other's tone and not its own.
 */
import { expect } from 'vitest';
import type { NtgcallsPair } from './ntgcalls-pair.js';
import type { NtgcallsPeer } from './ntgcalls-peer.js';
import { analyseTone, readS16le } from './tone-detector.js';

export const BYTES_PER_SECOND = 48000 * 2; // s16le mono 48 kHz, as requested in init
export const CALLER_HZ = 440;
export const CALLEE_HZ = 880;

/** Polls `stats` until the peer has recorded `seconds` of audio; returns the byte count then. */
export async function recordedAtLeast(peer: NtgcallsPeer, seconds: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i += 1) {
    const stats = await peer.stats(2_000);
    if (stats.rxBytes >= seconds * BYTES_PER_SECOND) return stats.rxBytes;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${peer.name} recorded less than ${seconds}s of audio within ${timeoutMs} ms`);
}

/** Tone check of each side's recording, cut at `limit` bytes (before any mute). */
export function expectTonesBothWays(pair: NtgcallsPair, limit: { caller: number; callee: number }): void {
  const heardByCaller = readS16le(pair.recordings.caller, limit.caller);
  const heardByCallee = readS16le(pair.recordings.callee, limit.callee);
  const callerHearsCallee = analyseTone(heardByCaller, CALLEE_HZ);
  const calleeHearsCaller = analyseTone(heardByCallee, CALLER_HZ);
  expect(callerHearsCallee.analysed, 'caller recording has voiced windows').toBeGreaterThanOrEqual(10);
  expect(calleeHearsCaller.analysed, 'callee recording has voiced windows').toBeGreaterThanOrEqual(10);
  expect(callerHearsCallee.dominantFraction, `caller hears ${CALLEE_HZ} Hz`).toBeGreaterThanOrEqual(0.9);
  expect(calleeHearsCaller.dominantFraction, `callee hears ${CALLER_HZ} Hz`).toBeGreaterThanOrEqual(0.9);
  // Neither side hears its own tone: catches reflection and crossed recordings.
  expect(analyseTone(heardByCaller, CALLER_HZ).dominantFraction).toBeLessThan(0.1);
  expect(analyseTone(heardByCallee, CALLEE_HZ).dominantFraction).toBeLessThan(0.1);
}

/**
 * ntgcalls sometimes aborts in its own stop() ("libc++abi: Pure virtual function called"): 2.2.5
 * also between two ntgcalls (ntgcalls-self.test.ts), 3.0.5 now and then right after the peer's
 * hang-up. `stopping` (a promise that waits on ntgcalls while it stops) resolves undefined when
 * it failed with that crash; any other failure is rethrown. Handled from the moment it is made, so
 * a crash before the caller awaits it is no unhandled rejection.
 */
export function ntgcallsStopping<T>(peer: NtgcallsPeer, stopping: Promise<T>, label: string): Promise<T | undefined> {
  const tolerant = stopping.catch((err: unknown) => {
    if (!/Pure virtual function called/.test(peer.stderrTail())) throw err;
    console.log(`${label}: ntgcalls aborted in its own stop() (known ntgcalls teardown crash)`);
    return undefined;
  });
  tolerant.catch(() => undefined);
  return tolerant;
}
