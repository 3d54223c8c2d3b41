/**
 * Interop rows under an impaired network (issue 14): 10 % loss and 60 ± 30 ms one-way delay from
 * the userspace impairment relay (test/interop/impairment-relay.ts) between two network
 * namespaces — tgcall in this process on one end, or an ntgcalls peer; an ntgcalls peer on the
 * other. Per row: connect time (keys agreed → both sides connected, p50/p90) and mouth-to-ear
 * latency both ways (tone-burst probes, p50/p90 over every burst from 1 s after both connected).
 * Prints figures; asserts nothing. Needs root and the ntgcalls virtualenvs. IMPAIRED_DEBUG=1
 * prints tgcall's media stats after each call, =2 also its jitter buffer twice a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeTelegram } from '../src/fake/index.js';
import { TelegramCalls } from '../src/index.js';
import { openTgcallCall } from './interop-call.js';
import { createImpairedLink, type Impairment } from '../test/interop/impairment-relay.js';
import { burstLatencies, monotonicMs, ntgcallsProbe, summarize, TgcallProbe, type LatencySummary, type ProbeSide } from '../test/interop/latency-probes.js';
import { startNtgcallsPair } from '../test/interop/ntgcalls-pair.js';
import { NtgcallsPeer } from '../test/interop/ntgcalls-peer.js';
import { NtgcallsPhone } from '../test/interop/ntgcalls-phone.js';
import type { NtgcallsVersion } from '../test/interop/prereqs.js';
import { percentile } from '../test/helpers/tone-bursts.js';

export const DEFAULT_IMPAIRMENT: Required<Impairment> = { loss: 0.1, delayMs: 60, jitterMs: 30 };

export interface ImpairedRow {
  /** caller -> callee */
  pair: string;
  calls: number;
  failed: number;
  /** Keys agreed → both sides connected, ms. */
  connect: number[];
  /** Mouth-to-ear, caller → callee and callee → caller, ms per burst. */
  forward: number[];
  backward: number[];
}

export type ImpairedRowKind = 'pair' | 'caller' | 'callee';

/** `--impaired-rows 3.0.5:pair,2.2.5:callee` → the rows to run; throws on an unknown one. */
export function parseImpairedRows(list: string): `${NtgcallsVersion}:${ImpairedRowKind}`[] {
  return list.split(',').map((item) => {
    const m = /^(2\.2\.5|3\.0\.5):(pair|caller|callee)$/.exec(item.trim());
    if (!m) throw new Error(`--impaired-rows: '${item}' is not version:pair|caller|callee (version 2.2.5 or 3.0.5)`);
    return `${m[1] as NtgcallsVersion}:${m[2] as ImpairedRowKind}` as const;
  });
}

const US = 7101n;
const THEM = 7102n;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bursts sent from 1 s after both connected on, until the audio stopped. */
function steady(from: ProbeSide, to: ProbeSide, fromMs: number, toMs: number): number[] {
  return burstLatencies(from, to)
    .filter((b) => b.mouthMs >= fromMs && b.mouthMs < toMs)
    .map((b) => b.latencyMs);
}

export async function measureImpairedNtgcallsPair(version: NtgcallsVersion, calls: number, seconds: number, impairment: Impairment = DEFAULT_IMPAIRMENT): Promise<ImpairedRow> {
  const row: ImpairedRow = { pair: `ntgcalls ${version} -> ntgcalls ${version}`, calls, failed: 0, connect: [], forward: [], backward: [] };
  const link = await createImpairedLink({ a: 'netns', ...impairment, seed: 11 });
  const dir = mkdtempSync(join(tmpdir(), 'tgcall-impaired-'));
  try {
    for (let i = 0; i < calls; i += 1) {
      const pair = await startNtgcallsPair({
        callerVersion: version,
        calleeVersion: version,
        netns: link.a.netns!,
        calleeNetns: link.b.netns!,
        dir,
        key: 'dh',
        label: `call${i}`,
        probes: true,
        maxLifetimeS: seconds + 60,
      });
      try {
        await pair.connected(30_000);
        const { seen } = pair;
        row.connect.push(Math.max(seen.connectedAt.caller!, seen.connectedAt.callee!) - seen.confirmAt!);
        process.stderr.write(`  ${row.pair} call ${i}: connect ${row.connect.at(-1)!.toFixed(0)} ms\n`);
        const from = monotonicMs() + 1000;
        await sleep(seconds * 1000);
        const to = monotonicMs() - 1000;
        await pair.hangup('caller');
        const caller = ntgcallsProbe(pair.recordings.caller);
        const callee = ntgcallsProbe(pair.recordings.callee);
        row.forward.push(...steady(caller, callee, from, to));
        row.backward.push(...steady(callee, caller, from, to));
      } catch (err) {
        row.failed += 1;
        process.stderr.write(`impaired call ${i} ntgcalls ${version} pair failed: ${String(err)}\n`);
      } finally {
        await pair.close();
      }
    }
  } finally {
    await link.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

export async function measureImpairedTgcall(version: NtgcallsVersion, tgcallRole: 'caller' | 'callee', calls: number, seconds: number, impairment: Impairment = DEFAULT_IMPAIRMENT): Promise<ImpairedRow> {
  const caller = tgcallRole === 'caller';
  const row: ImpairedRow = { pair: caller ? `tgcall -> ntgcalls ${version}` : `ntgcalls ${version} -> tgcall`, calls, failed: 0, connect: [], forward: [], backward: [] };
  const link = await createImpairedLink({ a: 'host', ...impairment, seed: caller ? 12 : 13 });
  const dir = mkdtempSync(join(tmpdir(), 'tgcall-impaired-'));
  try {
    for (let i = 0; i < calls; i += 1) {
      const telegram = new FakeTelegram({ seed: 300 + i });
      const tg = new TelegramCalls(telegram.createClient(US, 'tgcall'), { bindAddress: link.a.address });
      const peer = await NtgcallsPeer.start({ version, netns: link.b.netns!, name: `ntgcalls ${version}` });
      const rxPath = join(dir, `call${i}.raw`);
      const phone = new NtgcallsPhone({
        peer,
        client: telegram.createClient(THEM, 'ntgcalls'),
        versions: version === '2.2.5' ? ['8.0.0'] : ['9.0.0', '8.0.0'],
        toneHz: 440,
        rxPath,
        probes: true,
        process: { maxLifetimeS: seconds + 60 },
      });
      let probe: TgcallProbe | undefined;
      try {
        await tg.start();
        const { call, keysAt } = await openTgcallCall(tg, phone, tgcallRole, US, THEM);
        probe = new TgcallProbe(call);
        await Promise.all([call.whenConnected(), peer.waitForState('CONNECTED', 30_000)]);
        row.connect.push(performance.now() - keysAt());
        process.stderr.write(`  ${row.pair} call ${i}: connect ${row.connect.at(-1)!.toFixed(0)} ms (tgcall's own ${call.getStats().connectMs?.toFixed(0)} ms)\n`);
        probe.start();
        const from = monotonicMs() + 1000;
        const trace = process.env.IMPAIRED_DEBUG === '2' ? setInterval(() => {
          const r = call.getStats().media.received;
          process.stderr.write(`  t=${Math.round(monotonicMs() - from)} target=${r.targetDelayMs.toFixed(0)} current=${r.currentDelayMs.toFixed(0)} conc=${r.concealedFrames} disc=${r.discardedMs} acc=${r.acceleratedMs.toFixed(0)} late=${r.late} lost=${r.lost} jit=${r.jitterMs.toFixed(1)}\n`);
        }, 500) : undefined;
        await sleep(seconds * 1000);
        clearInterval(trace);
        const to = monotonicMs() - 1000;
        await probe.stop();
        if (process.env.IMPAIRED_DEBUG) process.stderr.write(`${row.pair} call ${i}: ${JSON.stringify(call.getStats().media)}\n`);
        const report = peer.waitFor('report', undefined, 10_000);
        report.catch(() => undefined); // awaited below: ntgcalls' known teardown abort during our hang-up is no unhandled rejection
        await call.hangup();
        await report;
        const them = ntgcallsProbe(rxPath);
        row.forward.push(...(caller ? steady(probe, them, from, to) : steady(them, probe, from, to)));
        row.backward.push(...(caller ? steady(them, probe, from, to) : steady(probe, them, from, to)));
      } catch (err) {
        row.failed += 1;
        process.stderr.write(`impaired call ${i} ${row.pair} failed: ${String(err)}\n`);
      } finally {
        await probe?.stop();
        phone.close();
        await peer.close();
        await tg.stop();
        telegram.close();
      }
    }
  } finally {
    await link.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

export function formatImpairedTable(rows: readonly ImpairedRow[]): string {
  const head = ['pair (caller -> callee)', 'calls', 'failed', 'connect p50 ms', 'connect p90 ms', 'connect max ms', 'caller→callee p50/p90 ms (bursts)', 'callee→caller p50/p90 ms (bursts)'];
  const f = (v: number | null): string => (v === null ? '-' : v.toFixed(0));
  const lat = (s: LatencySummary): string => `${f(s.p50)} / ${f(s.p90)} (${s.bursts})`;
  const body = rows.map((r) => [r.pair, String(r.calls), String(r.failed), f(percentile(r.connect, 50)), f(percentile(r.connect, 90)), f(r.connect.length ? Math.max(...r.connect) : null), lat(summarize(r.forward)), lat(summarize(r.backward))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
