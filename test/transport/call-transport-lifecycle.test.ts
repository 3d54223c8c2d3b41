/**
 * Resource hygiene: repeated calls leave no native handle, socket or timer behind, and a process
 * that ran a call exits by itself (node-datachannel keeps the event loop alive for every native
 * object whose closed callback has not fired).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CallTransport } from '../../src/transport/call-transport.js';
import { liveNativeHandles, liveNativeHandlesByKind } from '../../src/transport/native-handles.js';
import { SignalingPipe } from './signaling-pipe.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/loopback-call.ts', import.meta.url));

/** Active libuv resources, without the transient fs requests of the test runner. */
function resources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'FSReqCallback')
    .sort();
}

function connected(t: CallTransport): Promise<void> {
  return new Promise((resolve, reject) => {
    t.once('connected', resolve);
    t.once('closed', (reason) => reject(new Error(`closed: ${reason}`)));
  });
}

describe('CallTransport resource lifecycle', () => {
  it('50 open/close cycles return every handle', { timeout: 120_000 }, async () => {
    const baseline = resources();
    const connectTimes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const caller = new CallTransport({ isOutgoing: true, network: { bindAddress: '127.0.0.1', connectTimeoutMs: 10_000 } });
      const callee = new CallTransport({ isOutgoing: false, network: { bindAddress: '127.0.0.1', connectTimeoutMs: 10_000 } });
      const pipe = new SignalingPipe(caller, callee);
      caller.start();
      callee.start();
      if (i % 2 === 0) {
        // A full call...
        await Promise.all([connected(caller), connected(callee)]);
        connectTimes.push(caller.stats.connectTimeMs!);
      } else {
        // ...or one abandoned at some point of the handshake.
        await new Promise((r) => setTimeout(r, (i * 7) % 40));
      }
      expect(liveNativeHandles()).toBeGreaterThan(0);
      pipe.close();
      await Promise.all([caller.close(), callee.close()]);
      expect(liveNativeHandlesByKind()).toEqual({ 'peer-connection': 0, track: 0, 'data-channel': 0 });
    }
    expect(liveNativeHandles()).toBe(0);
    // Sockets and timers of the transports are gone too (the runner's own timers may come and go).
    await new Promise((r) => setImmediate(r));
    const count = (list: string[]): Record<string, number> => list.reduce<Record<string, number>>((m, r) => ((m[r] = (m[r] ?? 0) + 1), m), {});
    const before = count(baseline);
    for (const [kind, n] of Object.entries(count(resources()))) expect(n, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    expect(connectTimes).toHaveLength(25);
    const sorted = [...connectTimes].sort((a, b) => a - b);
    console.log(`loopback connect ms over 25 calls: min ${sorted[0]}, median ${sorted[12]}, max ${sorted[24]}`);
  });

  for (const mode of ['call', 'timeout', 'early-close'] as const) {
    it(`a process that ran a call (${mode}) exits by itself`, { timeout: 60_000 }, async () => {
      const child = spawn('npx', ['tsx', fixture, mode], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let outputAt = 0;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n') && outputAt === 0) outputAt = performance.now();
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // Hang detector: a child still alive 20 s after its work is a leak, not a slow machine.
      const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      clearTimeout(killer);
      const exitAfterMs = Math.round(performance.now() - outputAt);
      expect(signal, stderr).toBeNull();
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { reasons: string[]; liveNativeHandles: number; rtpAtCallee: number };
      expect(result.liveNativeHandles).toBe(0);
      if (mode === 'call') {
        expect(result.rtpAtCallee).toBeGreaterThan(0);
        expect(result.reasons).toEqual(['local', 'disconnect']);
      } else if (mode === 'timeout') {
        expect(result.reasons).toEqual(['disconnect', 'disconnect']);
      } else {
        expect(result.reasons).toEqual(['local', 'local']);
      }
      console.log(`${mode}: child exited ${exitAfterMs} ms after its last output`);
    });
  }
});
