/**
 * Benchmark seed: ntgcalls <-> ntgcalls calls through the interop plumbing, printed as a table.
 * Medians over N calls of setup time (connect_p2p to CONNECTED, each peer's own clock) and CPU
 * per call-second (from the peers' reports). Rows for tgcall <-> ntgcalls and tgcall <-> tgcall
 * go into the same table through `BenchRow` / `formatBenchTable`.
 *
 *   npx tsx test/interop/bench-ntgcalls.ts [--calls 5] [--seconds 3] [--versions 2.2.5,3.0.5]
 *
 * Needs root and the venvs from .ci/interop-setup.sh.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createNetns } from './netns.js';
import { startNtgcallsPair } from './ntgcalls-pair.js';
import { checkNtgcallsPrereqs, NTGCALLS_VERSIONS, type NtgcallsVersion } from './prereqs.js';
import { analyseTone, readS16le } from './tone-detector.js';

export interface BenchRow {
  /** e.g. "ntgcalls 2.2.5 -> ntgcalls 2.2.5" (caller -> callee). */
  pair: string;
  calls: number;
  failed: number;
  /** Medians, ms. `null` when not measured. */
  callerSetupMs: number | null;
  calleeSetupMs: number | null;
  /** Node clock: caller's `confirm` (key agreed, connect starts) to both sides CONNECTED. */
  bothConnectedMs: number | null;
  /** CPU ms per second of call, each side's whole process. */
  callerCpuMsPerS: number | null;
  calleeCpuMsPerS: number | null;
  /** Worst tone-dominance fraction seen in either direction. */
  minToneFraction: number | null;
  netnsCreateMs: number | null;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function formatBenchTable(rows: readonly BenchRow[]): string {
  const head = ['pair', 'calls', 'failed', 'setup caller ms', 'setup callee ms', 'confirm→both CONNECTED ms', 'CPU caller ms/s', 'CPU callee ms/s', 'min tone', 'netns ms'];
  const fmt = (v: number | null, digits = 1): string => (v === null ? '-' : v.toFixed(digits));
  const body = rows.map((r) => [
    r.pair,
    String(r.calls),
    String(r.failed),
    fmt(r.callerSetupMs),
    fmt(r.calleeSetupMs),
    fmt(r.bothConnectedMs),
    fmt(r.callerCpuMsPerS),
    fmt(r.calleeCpuMsPerS),
    fmt(r.minToneFraction, 2),
    fmt(r.netnsCreateMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** Runs `calls` DH calls caller -> callee, each with `seconds` of audio after CONNECTED. */
export async function measureNtgcallsPair(
  callerVersion: NtgcallsVersion,
  calleeVersion: NtgcallsVersion,
  calls: number,
  seconds: number,
  /** Protocol versions given to both peers (3.x runs the highest); default the harness's. */
  protocolVersions?: string[],
): Promise<BenchRow> {
  const ns = await createNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tgcall-bench-'));
  const callerSetup: number[] = [];
  const calleeSetup: number[] = [];
  const both: number[] = [];
  const callerCpu: number[] = [];
  const calleeCpu: number[] = [];
  let minTone: number | null = null;
  let failed = 0;
  try {
    for (let i = 0; i < calls; i += 1) {
      const pair = await startNtgcallsPair({
        callerVersion,
        calleeVersion,
        netns: ns,
        dir,
        key: 'dh',
        label: `call${i}`,
        toneSeconds: seconds + 5,
        ...(protocolVersions ? { versions: protocolVersions } : {}),
      });
      try {
        await pair.connected(12_000);
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const reports = await pair.hangup('caller');
        const { seen } = pair;
        if (reports.caller.setupMs !== null) callerSetup.push(reports.caller.setupMs);
        if (reports.callee.setupMs !== null) calleeSetup.push(reports.callee.setupMs);
        if (seen.confirmAt !== undefined && seen.connectedAt.caller !== undefined && seen.connectedAt.callee !== undefined) {
          both.push(Math.max(seen.connectedAt.caller, seen.connectedAt.callee) - seen.confirmAt);
        }
        for (const [report, into] of [[reports.caller, callerCpu], [reports.callee, calleeCpu]] as const) {
          if (report.callS && report.callCpuS !== undefined) into.push((report.callCpuS * 1000) / report.callS);
        }
        const heard = Math.min(
          analyseTone(readS16le(pair.recordings.caller), 880).dominantFraction,
          analyseTone(readS16le(pair.recordings.callee), 440).dominantFraction,
        );
        minTone = minTone === null ? heard : Math.min(minTone, heard);
      } catch (err) {
        failed += 1;
        process.stderr.write(`call ${i} ${callerVersion}->${calleeVersion} failed: ${String(err)}\n`);
      } finally {
        await pair.close();
      }
    }
  } finally {
    await ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    pair: `ntgcalls ${callerVersion} -> ntgcalls ${calleeVersion}${protocolVersions ? ` [${protocolVersions[0]}]` : ''}`,
    calls,
    failed,
    callerSetupMs: median(callerSetup),
    calleeSetupMs: median(calleeSetup),
    bothConnectedMs: median(both),
    callerCpuMsPerS: median(callerCpu),
    calleeCpuMsPerS: median(calleeCpu),
    minToneFraction: minTone,
    netnsCreateMs: ns.createMs,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      versions: { type: 'string', default: NTGCALLS_VERSIONS.join(',') },
    },
  });
  const calls = Math.max(1, Math.min(100, Number(values.calls)));
  const seconds = Math.max(1, Math.min(60, Number(values.seconds)));
  const versions = values.versions.split(',').filter((v): v is NtgcallsVersion => (NTGCALLS_VERSIONS as readonly string[]).includes(v));
  const rows: BenchRow[] = [];
  for (const version of versions) {
    const pre = checkNtgcallsPrereqs(version);
    if (!pre.ok) {
      process.stderr.write(`skipping ntgcalls ${version}: ${pre.reason}\n`);
      continue;
    }
    rows.push(await measureNtgcallsPair(version, version, calls, seconds));
  }
  process.stdout.write(`ntgcalls <-> ntgcalls, ${calls} calls x ${seconds} s per row, medians\n${formatBenchTable(rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
