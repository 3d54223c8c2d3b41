/**
 * Why do handshakes take seconds under loss? Runs tgcall <-> ntgcalls calls through the impaired
 * link (impairment-relay.ts) and keeps, per call: a packet capture on each end's interface
 * (tshark, only on the link's own TUN devices), the relay's per-packet trace (what each end sent,
 * whether the link dropped it, when it was delivered), libdatachannel's debug log (tgcall) and
 * ntgcalls' webrtc log, all with CLOCK_MONOTONIC or wall-clock stamps. Prints each call's ICE/DTLS
 * timeline from the relay trace: every STUN and DTLS handshake packet until the first DTLS
 * application data each way, which end sent it, and its fate.
 *
 *   npx tsx test/interop/handshake-trace.ts [--calls 10] [--tgcall callee|caller] [--version 3.0.5]
 *                                            [--out DIR] [--loss 0.1] [--delay 60] [--jitter 30]
 *
 * Needs root, tshark and the ntgcalls venvs. Files stay in --out (default a temp directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import nodeDataChannel from 'node-datachannel';
import { FakeTelegram } from '../../src/fake/index.js';
import { TelegramCalls, type Call } from '../../src/index.js';
import { createImpairedLink, type LinkEnd } from './impairment-relay.js';
import { NtgcallsPeer } from './ntgcalls-peer.js';
import { NtgcallsPhone } from './ntgcalls-phone.js';
import type { NtgcallsVersion } from './prereqs.js';

const US = 7201n;
const THEM = 7202n;

interface TraceLine {
  tMs: number;
  dir: 'ab' | 'ba';
  len: number;
  kind: string;
  deliveredMs: number | undefined;
}

function readRelayTrace(path: string): TraceLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [t, dir, len, kind, fate] = l.split('\t');
      return { tMs: Number(t) / 1e6, dir: dir as 'ab' | 'ba', len: Number(len), kind: kind!, deliveredMs: fate === 'drop' ? undefined : Number(fate) / 1e6 };
    });
}

/** The handshake part of a call's trace: STUN and DTLS until application data flowed both ways. */
export function handshakeTimeline(lines: readonly TraceLine[], names: { ab: string; ba: string }): string[] {
  const out: string[] = [];
  const first = lines.find((l) => l.kind.startsWith('stun'));
  if (!first) return ['(no STUN seen)'];
  const appSeen = { ab: false, ba: false };
  for (const l of lines) {
    if (l.tMs < first.tMs) continue;
    if (l.kind.startsWith('dtls:app')) {
      if (!appSeen[l.dir]) out.push(`${(l.tMs - first.tMs).toFixed(0).padStart(6)} ms  ${names[l.dir]}  first DTLS application data${l.deliveredMs === undefined ? '  (dropped by the link)' : ''}`);
      appSeen[l.dir] = true;
      if (appSeen.ab && appSeen.ba) break;
      continue;
    }
    if (!l.kind.startsWith('stun') && !l.kind.startsWith('dtls')) continue;
    const fate = l.deliveredMs === undefined ? 'DROPPED by the link' : `arrives +${(l.deliveredMs - l.tMs).toFixed(0)} ms`;
    out.push(`${(l.tMs - first.tMs).toFixed(0).padStart(6)} ms  ${names[l.dir]}  ${l.kind.padEnd(34)} ${fate}`);
  }
  return out;
}

/** Starts tshark on one end's TUN device; resolves once it reports capturing (bounded). */
async function capture(end: LinkEnd, path: string): Promise<ChildProcess> {
  const args = ['-i', end.interface, '-w', path];
  const opts = { stdio: ['ignore', 'ignore', 'pipe'] as ('ignore' | 'pipe')[] };
  const p = end.netns ? end.netns.spawn('tshark', args, opts) : spawn('tshark', args, opts);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 15_000);
    p.stderr!.on('data', (d: Buffer) => {
      if (/Capturing on/.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return p;
}

async function stopCapture(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGINT');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '10' },
      tgcall: { type: 'string', default: 'callee' },
      version: { type: 'string', default: '3.0.5' },
      out: { type: 'string' },
      loss: { type: 'string', default: '0.1' },
      delay: { type: 'string', default: '60' },
      jitter: { type: 'string', default: '30' },
    },
  });
  const calls = Math.max(1, Math.min(50, Number(values.calls)));
  const version = values.version as NtgcallsVersion;
  const tgcallCallee = values.tgcall !== 'caller';
  const out = values.out ?? mkdtempSync(join(tmpdir(), 'tgcall-handshake-'));
  mkdirSync(out, { recursive: true });
  const ldcLog = join(out, 'libdatachannel.log');
  nodeDataChannel.initLogger('Debug', (level, message) => appendFileSync(ldcLog, `${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)} ${level} ${message}\n`));
  process.stdout.write(`traces in ${out}\n`);

  for (let i = 0; i < calls; i += 1) {
    const tracePath = join(out, `call${i}.relay.tsv`);
    const link = await createImpairedLink({ a: 'host', loss: Number(values.loss), delayMs: Number(values.delay), jitterMs: Number(values.jitter), seed: 1000 + i, tracePath });
    const caps = await Promise.all([capture(link.a, join(out, `call${i}.tgcall.pcapng`)), capture(link.b, join(out, `call${i}.ntgcalls.pcapng`))]);
    appendFileSync(ldcLog, `${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)} ---- call ${i}\n`);
    const peerLog = join(out, `call${i}.ntgcalls.log`);
    const log = (line: string): void => appendFileSync(peerLog, `${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)} ${line}\n`);
    const logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
    const telegram = new FakeTelegram({ seed: 500 + i });
    const tg = new TelegramCalls(telegram.createClient(US, 'tgcall'), { bindAddress: link.a.address });
    const peer = await NtgcallsPeer.start({ version, netns: link.b.netns!, name: `ntgcalls ${version}`, verbose: true, logger });
    const phone = new NtgcallsPhone({ peer, client: telegram.createClient(THEM, 'ntgcalls'), versions: version === '2.2.5' ? ['8.0.0'] : ['9.0.0', '8.0.0'], toneHz: 440, rxPath: join(out, `call${i}.rx.raw`) });
    try {
      await tg.start();
      let call: Call;
      if (tgcallCallee) {
        const incoming = new Promise<Call>((resolve) => tg.once('incoming', resolve));
        await phone.placeCall(US, undefined);
        call = await incoming;
        void call.accept().catch(() => undefined);
      } else {
        call = await tg.call(THEM);
      }
      let keysAt = 0;
      call.once('emoji', () => (keysAt = performance.now()));
      await Promise.all([call.whenConnected(), peer.waitForState('CONNECTED', 30_000)]);
      const both = performance.now() - keysAt;
      await new Promise((r) => setTimeout(r, 1000));
      const report = peer.waitFor('report', undefined, 10_000);
      report.catch(() => undefined); // awaited below: ntgcalls' known teardown abort during our hang-up is no unhandled rejection
      await call.hangup();
      const r = await report;
      process.stdout.write(`\ncall ${i}: keys -> both connected ${both.toFixed(0)} ms; tgcall connect ${call.getStats().connectMs?.toFixed(0)} ms; ntgcalls setup ${r.setupMs?.toFixed(0)} ms\n`);
    } catch (err) {
      process.stdout.write(`\ncall ${i} failed: ${String(err)}\n`);
    } finally {
      phone.close();
      await peer.close();
      await tg.stop();
      telegram.close();
      await Promise.all(caps.map(stopCapture));
      await link.remove();
    }
    const names = { ab: 'tgcall   ->', ba: 'ntgcalls ->' };
    for (const line of handshakeTimeline(readRelayTrace(tracePath), names)) process.stdout.write(`  ${line}\n`);
  }
  nodeDataChannel.cleanup();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
