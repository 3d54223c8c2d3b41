/**
 * `npm run bench:interop`: call setup time and CPU per call-second, side by side in one run, for
 * ntgcalls <-> ntgcalls, tgcall <-> ntgcalls (both roles) and tgcall <-> tgcall, on each protocol:
 * 8.0.0 (ntgcalls 2.2.5), 9.0.0 and 13.0.0 (signaling V3 over SCTP; ntgcalls 3.0.5). Medians over
 * `--calls` calls per row (default 5) with `--seconds` of audio both ways (default 3).
 *
 * Setup: for ntgcalls, connect_p2p to CONNECTED (its own report); for tgcall, the start of the
 * connection (keys agreed) to connected. CPU: ntgcalls from its process's rusage over the
 * connected span; tgcall from this process's cpuUsage over the audio span (per leg when both legs
 * run here). Needs root and the ntgcalls virtualenvs (.ci/interop-setup.sh); prints figures,
 * asserts nothing.
 *
 * Then the same pairs under 10 % loss and 60 ± 30 ms delay (bench/interop-impaired.ts): connect
 * time p50/p90 and mouth-to-ear latency both ways, ntgcalls <-> ntgcalls next to tgcall <->
 * ntgcalls. `--impaired-calls` (default 5) calls of `--impaired-seconds` (default 8) per row;
 * `--only clean|impaired` runs one table; `--impaired-rows 3.0.5:pair,3.0.5:caller,2.2.5:callee`
 * runs only those impaired rows (version:pair|caller|callee, caller/callee = tgcall's role).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeTelegram, generateTone } from '../src/fake/index.js';
import { TelegramCalls, type Call } from '../src/index.js';
import { openTgcallCall } from './interop-call.js';
import { formatBenchTable, measureNtgcallsPair, median, type BenchRow } from '../test/interop/bench-ntgcalls.js';
import { DEFAULT_IMPAIRMENT, formatImpairedTable, measureImpairedNtgcallsPair, measureImpairedTgcall, parseImpairedRows, type ImpairedRow, type ImpairedRowKind } from './interop-impaired.js';
import { createNetns, type Netns } from '../test/interop/netns.js';
import { NtgcallsPeer } from '../test/interop/ntgcalls-peer.js';
import { NtgcallsPhone } from '../test/interop/ntgcalls-phone.js';
import { checkNtgcallsPrereqs, NTGCALLS_VERSIONS, type NtgcallsVersion } from '../test/interop/prereqs.js';
import { analyseTone, readS16le } from '../test/interop/tone-detector.js';

const US = 7001n;
const THEM = 7002n;

function playTone(call: Call, hz: number, seconds: number): void {
  const pcm = generateTone({ frequency: hz, durationMs: seconds * 1000 });
  const chunks = function* (): Generator<Int16Array> {
    for (let i = 0; i < pcm.length; i += 960) yield pcm.subarray(i, i + 960);
  };
  void call.audio.play(chunks());
}

/** CPU ms this process used while `fn` ran, and the wall time it took. */
async function cpuDuring(fn: () => Promise<void>): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What each side advertises for a protocol row (the fake server picks the first common one). */
function versionsFor(version: NtgcallsVersion, protocol: string): string[] {
  if (version === '2.2.5') return ['8.0.0'];
  return protocol === '13.0.0' ? ['13.0.0', '8.0.0'] : ['9.0.0', '8.0.0'];
}

async function measureTgcallNtgcalls(version: NtgcallsVersion, protocol: string, tgcallRole: 'caller' | 'callee', calls: number, seconds: number): Promise<BenchRow> {
  const ns: Netns = await createNetns({ hostSide: true });
  const dir = mkdtempSync(join(tmpdir(), 'tgcall-bench-'));
  const ours: number[] = [];
  const theirs: number[] = [];
  const both: number[] = [];
  const ourCpu: number[] = [];
  const theirCpu: number[] = [];
  let minTone: number | null = null;
  let failed = 0;
  try {
    for (let i = 0; i < calls; i++) {
      const telegram = new FakeTelegram({ seed: 100 + i });
      const tg = new TelegramCalls(telegram.createClient(US, 'tgcall'), { bindAddress: ns.hostAddress, libraryVersions: versionsFor(version, protocol) });
      const peer = await NtgcallsPeer.start({ version, netns: ns, name: `ntgcalls ${version}` });
      const rxPath = join(dir, `call${i}.raw`);
      const phone = new NtgcallsPhone({
        peer,
        client: telegram.createClient(THEM, 'ntgcalls'),
        versions: versionsFor(version, protocol),
        toneHz: 440,
        toneSeconds: seconds + 5,
        rxPath,
      });
      try {
        await tg.start();
        const { call, keysAt } = await openTgcallCall(tg, phone, tgcallRole, US, THEM);
        await Promise.all([call.whenConnected(), peer.waitForState('CONNECTED', 12_000)]);
        if (call.version !== protocol) throw new Error(`ran ${call.version}, not ${protocol}`);
        both.push(performance.now() - keysAt());
        ours.push(call.getStats().connectMs ?? NaN);
        playTone(call, 880, seconds + 1);
        const { cpuMs, wallMs } = await cpuDuring(() => sleep(seconds * 1000));
        ourCpu.push(cpuMs / (wallMs / 1000));
        const report = peer.waitFor('report', undefined, 10_000);
        report.catch(() => undefined); // awaited below: ntgcalls' known teardown abort during our hang-up is no unhandled rejection
        await call.hangup();
        const r = await report;
        if (r.setupMs !== null) theirs.push(r.setupMs);
        if (r.callS && r.callCpuS !== undefined) theirCpu.push((r.callCpuS * 1000) / r.callS);
        const heard = analyseTone(readS16le(rxPath), 880).dominantFraction;
        minTone = minTone === null ? heard : Math.min(minTone, heard);
      } catch (err) {
        failed++;
        process.stderr.write(`call ${i} tgcall(${tgcallRole}) <-> ntgcalls ${version} failed: ${String(err)}\n`);
      } finally {
        phone.close();
        await peer.close();
        await tg.stop();
        telegram.close();
      }
    }
  } finally {
    await ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  const caller = tgcallRole === 'caller';
  return {
    pair: caller ? `tgcall -> ntgcalls ${version} [${protocol}]` : `ntgcalls ${version} -> tgcall [${protocol}]`,
    calls,
    failed,
    callerSetupMs: median(caller ? ours : theirs),
    calleeSetupMs: median(caller ? theirs : ours),
    bothConnectedMs: median(both),
    callerCpuMsPerS: median(caller ? ourCpu : theirCpu),
    calleeCpuMsPerS: median(caller ? theirCpu : ourCpu),
    minToneFraction: minTone,
    netnsCreateMs: ns.createMs,
  };
}

async function measureTgcallTgcall(protocol: string, calls: number, seconds: number): Promise<BenchRow> {
  const setupCaller: number[] = [];
  const setupCallee: number[] = [];
  const both: number[] = [];
  const cpu: number[] = [];
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    const telegram = new FakeTelegram({ seed: 200 + i });
    const a = new TelegramCalls(telegram.createClient(US, 'a'), { bindAddress: '127.0.0.1', libraryVersions: [protocol] });
    const b = new TelegramCalls(telegram.createClient(THEM, 'b'), { bindAddress: '127.0.0.1', libraryVersions: [protocol] });
    try {
      await Promise.all([a.start(), b.start()]);
      const incoming = new Promise<Call>((resolve) => b.once('incoming', resolve));
      const out = await a.call(THEM);
      let keysAt = 0;
      out.once('emoji', () => {
        keysAt = performance.now();
      });
      const inc = await incoming;
      await Promise.all([inc.accept(), out.whenConnected()]);
      both.push(performance.now() - keysAt);
      setupCaller.push(out.getStats().connectMs ?? NaN);
      setupCallee.push(inc.getStats().connectMs ?? NaN);
      playTone(out, 880, seconds + 1);
      playTone(inc, 440, seconds + 1);
      const { cpuMs, wallMs } = await cpuDuring(() => sleep(seconds * 1000));
      cpu.push(cpuMs / 2 / (wallMs / 1000)); // two legs in this process
      await out.hangup();
    } catch (err) {
      failed++;
      process.stderr.write(`call ${i} tgcall <-> tgcall failed: ${String(err)}\n`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      telegram.close();
    }
  }
  return {
    pair: `tgcall -> tgcall [${protocol}] (loopback, per leg)`,
    calls,
    failed,
    callerSetupMs: median(setupCaller),
    calleeSetupMs: median(setupCallee),
    bothConnectedMs: median(both),
    callerCpuMsPerS: median(cpu),
    calleeCpuMsPerS: median(cpu),
    minToneFraction: null,
    netnsCreateMs: null,
  };
}

export interface BenchInteropOptions {
  calls?: number;
  seconds?: number;
  impairedCalls?: number;
  impairedSeconds?: number;
  only?: 'clean' | 'impaired';
  /** Impaired rows to run, e.g. `['3.0.5:pair', '3.0.5:caller']`; default every row. */
  impairedRows?: readonly `${NtgcallsVersion}:${ImpairedRowKind}`[];
}

export default async function benchInterop(o: BenchInteropOptions = {}): Promise<void> {
  const calls = o.calls ?? 5;
  const seconds = o.seconds ?? 3;
  const versions = NTGCALLS_VERSIONS.filter((version) => {
    const pre = checkNtgcallsPrereqs(version);
    if (!pre.ok) process.stderr.write(`*** skipping ntgcalls ${version} rows: ${pre.reason}\n`);
    return pre.ok;
  });
  if (o.only !== 'impaired') {
    const rows: BenchRow[] = [];
    for (const version of versions) {
      // ntgcalls 2.2.5 runs 8.0.0 only (no V3); 3.0.5 runs 9.0.0 and 13.0.0 (V3).
      for (const protocol of version === '2.2.5' ? ['8.0.0'] : ['9.0.0', '13.0.0']) {
        rows.push(await measureNtgcallsPair(version, version, calls, seconds, versionsFor(version, protocol)));
        rows.push(await measureTgcallNtgcalls(version, protocol, 'caller', calls, seconds));
        rows.push(await measureTgcallNtgcalls(version, protocol, 'callee', calls, seconds));
      }
    }
    for (const protocol of ['8.0.0', '13.0.0']) rows.push(await measureTgcallTgcall(protocol, calls, seconds));
    process.stdout.write(
      `\nCall setup and CPU, ${calls} calls x ${seconds} s of audio both ways per row, medians ` +
        `(setup: connect start -> CONNECTED on each side's clock; CPU: whole process per call-second)\n${formatBenchTable(rows)}\n`,
    );
  }
  if (o.only !== 'clean') {
    const n = o.impairedCalls ?? 5;
    const s = o.impairedSeconds ?? 8;
    const rows: ImpairedRow[] = [];
    const wanted = (version: NtgcallsVersion, kind: ImpairedRowKind): boolean => !o.impairedRows || o.impairedRows.includes(`${version}:${kind}`);
    for (const version of versions) {
      if (wanted(version, 'pair')) rows.push(await measureImpairedNtgcallsPair(version, n, s));
      if (wanted(version, 'caller')) rows.push(await measureImpairedTgcall(version, 'caller', n, s));
      if (wanted(version, 'callee')) rows.push(await measureImpairedTgcall(version, 'callee', n, s));
    }
    const { loss, delayMs, jitterMs } = DEFAULT_IMPAIRMENT;
    process.stdout.write(
      `\nUnder ${loss * 100} % loss and ${delayMs} ± ${jitterMs} ms one-way delay (userspace relay between two network namespaces), ` +
        `${n} calls x ${s} s per row. Connect: keys agreed -> both connected. Mouth-to-ear: tone-burst onsets, every burst from ` +
        `1 s after both connected, CLOCK_MONOTONIC on both ends (tgcall fed live, one 20 ms frame when due; ntgcalls EXTERNAL 10 ms frames)\n` +
        `${formatImpairedTable(rows)}\n`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      'impaired-calls': { type: 'string', default: '5' },
      'impaired-seconds': { type: 'string', default: '8' },
      only: { type: 'string' },
      'impaired-rows': { type: 'string' },
    },
  });
  const clamp = (v: string, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Number(v) || lo));
  const only = values.only === 'clean' || values.only === 'impaired' ? values.only : undefined;
  const impairedRows = values['impaired-rows'] === undefined ? undefined : parseImpairedRows(values['impaired-rows']);
  benchInterop({
    calls: clamp(values.calls, 1, 50),
    seconds: clamp(values.seconds, 1, 60),
    impairedCalls: clamp(values['impaired-calls'], 1, 50),
    impairedSeconds: clamp(values['impaired-seconds'], 3, 60),
    ...(only ? { only } : {}),
    ...(impairedRows ? { impairedRows } : {}),
  }).catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
