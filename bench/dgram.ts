/**
 * Loopback UDP in Node (`npx tsx bench/dgram.ts [--quick]`): what one packet costs a process that
 * receives it on a `dgram` socket and sends it on (a JS "network edge" in front of libjuice), per
 * packet, at the rates calls produce. A child process sends RTP-sized packets (120 bytes) to this
 * process in bursts on a 20 ms grid (as the shared frame timer of many calls does) and counts
 * what comes back; this process's CPU over the window, minus its idle CPU, over the packets, is
 * the figure (medians of alternating runs). At low rates each packet wakes the event loop, and
 * the wake-up is most of its cost; at high rates packets share wake-ups. Prints a table; asserts
 * nothing.
 */
import { fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const quick = process.argv.includes('--quick');
const PACKET_BYTES = 120;

type Mode = 'idle' | 'receive' | 'forward' | 'forward-connected';

interface GeneratorTask {
  readonly port: number;
  readonly perSecond: number;
  readonly seconds: number;
}

/** The child: sends `perSecond` packets per second to `port` in 20 ms bursts, counts what comes back. */
async function generator(task: GeneratorTask): Promise<{ sent: number; returned: number }> {
  const out = createSocket('udp4');
  const sink = createSocket('udp4');
  let returned = 0;
  sink.on('message', () => (returned += 1));
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  process.send?.({ sinkPort: sink.address().port });
  const packet = Buffer.alloc(PACKET_BYTES, 0x80);
  const perTick = task.perSecond / 50;
  let sent = 0;
  let owed = 0;
  const start = performance.now();
  for (let tick = 1; tick <= task.seconds * 50; tick += 1) {
    owed += perTick;
    for (; owed >= 1; owed -= 1, sent += 1) out.send(packet, task.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, Math.max(0, start + tick * 20 - performance.now())));
  }
  await new Promise((r) => setTimeout(r, 200)); // the last forwarded packets
  out.close();
  sink.close();
  return { sent, returned };
}

interface Result {
  readonly mode: Mode;
  readonly perSecond: number;
  readonly cpuMsPerS: number;
  readonly packets: number;
  readonly returned: number;
  readonly wallS: number;
}

async function measure(mode: Mode, perSecond: number, seconds: number): Promise<Result> {
  const rx: Socket = createSocket('udp4');
  const tx: Socket = createSocket('udp4');
  let packets = 0;
  let sinkPort = 0;
  if (mode === 'receive') rx.on('message', () => (packets += 1));
  if (mode === 'forward') {
    rx.on('message', (msg) => {
      packets += 1;
      tx.send(msg, sinkPort, '127.0.0.1');
    });
  }
  if (mode === 'forward-connected') {
    // A connected socket: send() without an address skips the per-call address handling.
    rx.on('message', (msg) => {
      packets += 1;
      tx.send(msg);
    });
  }
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', r));
  const child = fork(fileURLToPath(import.meta.url), ['--generator'], { execArgv: process.execArgv, serialization: 'advanced' });
  let ready: () => void = () => undefined;
  const started = new Promise<void>((r) => (ready = r));
  const done = new Promise<{ sent: number; returned: number }>((resolve) => {
    child.on('message', (m: { sinkPort?: number; sent?: number; returned?: number }) => {
      if (m.sinkPort !== undefined) {
        sinkPort = m.sinkPort;
        if (mode === 'forward-connected') tx.connect(sinkPort, '127.0.0.1', ready);
        else ready();
      }
      if (m.sent !== undefined) resolve({ sent: m.sent, returned: m.returned ?? 0 });
    });
  });
  const port = rx.address().port;
  // The generator runs a second longer than the window, which starts once it is sending.
  child.send({ port, perSecond: mode === 'idle' ? 0 : perSecond, seconds: seconds + 1 } satisfies GeneratorTask);
  await started;
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const p0 = packets;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - t0) / 1000;
  const counted = packets - p0;
  const { returned } = await done;
  rx.close();
  tx.close();
  return { mode, perSecond, cpuMsPerS: (cpu.user + cpu.system) / 1000 / wallS, packets: counted, returned, wallS };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export default async function benchDgram(): Promise<void> {
  const seconds = quick ? 3 : 4;
  const runs = quick ? 1 : 3;
  const rates = quick ? [50, 2500] : [50, 500, 2500, 5000];
  const load0 = loadavg()[0]!;
  await measure('forward', 500, 2); // warm-up: JIT, socket paths
  const idle: number[] = [];
  const results = new Map<string, Result[]>();
  for (let run = 0; run < runs; run += 1) {
    idle.push((await measure('idle', 0, seconds)).cpuMsPerS);
    for (const perSecond of rates) {
      for (const mode of ['receive', 'forward', 'forward-connected'] as const) {
        const key = `${perSecond} ${mode}`;
        results.set(key, [...(results.get(key) ?? []), await measure(mode, perSecond, seconds)]);
      }
    }
  }
  const idleMs = median(idle);
  const rows: Record<string, string | number>[] = [];
  for (const [, rs] of results) {
    const r = rs[0]!;
    const perPacketUs = median(rs.map((x) => ((x.cpuMsPerS - idleMs) * 1000 * x.wallS) / Math.max(1, x.packets)));
    rows.push({
      'packets/s in': r.perSecond,
      'per packet': r.mode === 'receive' ? 'recv callback' : r.mode === 'forward' ? 'recv callback + send(msg, port, address)' : 'recv callback + send(msg) on a connected socket',
      'CPU ms/s': Number(median(rs.map((x) => x.cpuMsPerS)).toFixed(1)),
      'CPU µs per packet': Number(perPacketUs.toFixed(1)),
      'came back %': r.mode !== 'receive' ? Number(median(rs.map((x) => (100 * x.returned) / Math.max(1, x.perSecond * (seconds + 1)))).toFixed(1)) : '-',
    });
  }
  process.stdout.write(
    `\nLoopback UDP through this process (node:dgram, ${PACKET_BYTES}-byte packets arriving in 20 ms bursts), ${seconds} s per run, ` +
      `medians of ${runs} (idle process ${idleMs.toFixed(1)} ms/s; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)})\n`,
  );
  console.table(rows);
}

if (process.argv.includes('--generator')) {
  const task = await new Promise<GeneratorTask>((resolve) => process.once('message', (m) => resolve(m as GeneratorTask)));
  process.send?.(await generator(task));
  process.disconnect?.();
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchDgram();
}
