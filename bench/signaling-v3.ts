/**
 * `npx tsx bench/signaling-v3.ts`: the worst event-loop block a hostile V3 peer (or relay) can
 * cause with the inputs we could construct, per blob and for a burst. Each case feeds blobs to a
 * real SctpCarrier (werift-sctp behind the reader, policy and budgets) or V3 channel and measures
 * from the call until the loop is free again (the next setImmediate), so werift's microtask work
 * is included. Prints figures, asserts nothing.
 */
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { SctpCarrier, sctpChecksum } from '../src/carrier/index.js';
import { PacketCipher, createSignalingChannel, writeUint32BE } from '../src/crypto/index.js';
import { SeededRandom } from '../src/fake/index.js';

interface Row {
  name: string;
  blobs: number;
  /** CPU ms: median and largest single blob, whole burst. */
  typicalMs: number;
  worstMs: number;
  totalMs: number;
  worstWallMs: number;
  totalWallMs: number;
  note: string;
}

const TRIALS = 5;

/** Runs a case TRIALS times (fresh state each): medians and maxima of its worst block and burst. */
async function trials(run: () => Promise<Row>): Promise<Row & { worstMaxMs: number; totalMaxMs: number }> {
  const rows: Row[] = [];
  for (let i = 0; i < TRIALS; i++) rows.push(await run());
  const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return {
    ...rows.at(-1)!,
    typicalMs: med(rows.map((r) => r.typicalMs)),
    worstMs: med(rows.map((r) => r.worstMs)),
    totalMs: med(rows.map((r) => r.totalMs)),
    worstWallMs: med(rows.map((r) => r.worstWallMs)),
    totalWallMs: med(rows.map((r) => r.totalWallMs)),
    worstMaxMs: Math.max(...rows.map((r) => r.worstMs)),
    totalMaxMs: Math.max(...rows.map((r) => r.totalMs)),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Feeds `blobs` one per turn of the loop (worst single block) and then all at once (burst). Both
 * as CPU time of this process (what the input costs; on a shared machine wall time also counts
 * the time other processes held the CPU) and as wall time.
 */
async function measure(name: string, feed: (blob: Uint8Array) => void, blobs: Uint8Array[], note: () => string): Promise<Row> {
  let worst = 0;
  let worstWall = 0;
  const each: number[] = [];
  for (const blob of blobs.slice(0, Math.min(blobs.length, 200))) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    feed(blob);
    await tick();
    worstWall = Math.max(worstWall, performance.now() - t);
    each.push(cpuMs(cpu));
    worst = Math.max(worst, each.at(-1)!);
  }
  const typical = [...each].sort((a, b) => a - b)[Math.floor(each.length / 2)]!;
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (const blob of blobs) feed(blob);
  await tick();
  return { name, blobs: blobs.length, typicalMs: typical, worstMs: worst, totalMs: cpuMs(cpu), worstWallMs: worstWall, totalWallMs: performance.now() - t, note: note() };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function stamp(bytes: Uint8Array): Uint8Array {
  const sum = sctpChecksum(bytes);
  bytes.set([sum & 0xff, (sum >>> 8) & 0xff, (sum >>> 16) & 0xff, (sum >>> 24) & 0xff], 8);
  return bytes;
}

/** An established client/server pair joined by setImmediate, and the server's view of a client DATA packet. */
async function establishedPair(): Promise<{ client: SctpCarrier; server: SctpCarrier; dataTemplate: Uint8Array; close(): void }> {
  let client!: SctpCarrier;
  let dataTemplate: Uint8Array | undefined;
  const server = new SctpCarrier({ role: 'server', sendData: (b) => setImmediate(() => client.receive(b.slice())), onPacket: () => {}, onFatal: () => {} });
  client = new SctpCarrier({
    role: 'client',
    sendData: (b) => {
      if (b[12] === 0 && !dataTemplate) dataTemplate = b.slice();
      setImmediate(() => server.receive(b.slice()));
    },
    onPacket: () => {},
    onFatal: () => {},
  });
  server.start();
  client.start();
  client.send(new Uint8Array(100));
  for (let i = 0; i < 200 && !dataTemplate; i++) await new Promise((r) => setTimeout(r, 5));
  if (!dataTemplate) throw new Error('no DATA seen');
  return { client, server, dataTemplate, close: () => (client.close(), server.close()) };
}

/** A packet of `count` DATA chunks (first fragments only: werift keeps them for reassembly) from `tsn` on. */
function dataPacket(template: Uint8Array, tsn: number, count: number, size = 1): Uint8Array {
  const chunks: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = (tsn + i) >>> 0;
    const body = [(t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff, 0, 0, 0, 0, 0, 0, 0, 53, ...new Array(size).fill(7)];
    const length = 4 + body.length;
    chunks.push(0, 0x02, length >>> 8, length & 0xff, ...body);
    while (chunks.length % 4) chunks.push(0);
  }
  return stamp(new Uint8Array([...template.subarray(0, 12), ...chunks]));
}

export default async function benchSignalingV3(): Promise<void> {
  const rows: (Row & { worstMaxMs: number; totalMaxMs: number })[] = [];
  const random = new SeededRandom(1);

  // 1. Garbage (fails the CRC32c): the cheapest drop.
  rows.push(
    await trials(async () => {
      const { server, close } = await establishedPair();
      const blobs = Array.from({ length: 2000 }, () => random.bytes(1200));
      const row = await measure('random 1200-byte blobs', (b) => server.receive(b), blobs, () => `dropped ${JSON.stringify(pick(server.stats.dropped))}`);
      close();
      return row;
    }),
  );

  // 2. Packets of the most DATA chunks taken (32), out of order inside the TSN window (64):
  //    werift keeps every chunk and re-sorts its out-of-order set per chunk; the limits bound both.
  rows.push(
    await trials(async () => {
      const { server, dataTemplate, close } = await establishedPair();
      const base = Buffer.from(dataTemplate).readUInt32BE(16);
      const blobs = [dataPacket(dataTemplate, base + 2, 32), dataPacket(dataTemplate, base + 34, 31), dataPacket(dataTemplate, base + 65, 32)];
      const row = await measure('32 buffered DATA chunks per packet (the most taken)', (b) => server.receive(b), blobs, () => `dropped ${JSON.stringify(pick(server.stats.dropped))}`);
      close();
      return row;
    }),
  );

  // 3. A flood of valid duplicate DATA packets (each would be SACKed): the inbound budget.
  rows.push(
    await trials(async () => {
      const { server, dataTemplate, close } = await establishedPair();
      const blobs = Array.from({ length: 10_000 }, () => dataTemplate);
      const before = server.stats.blobsOut;
      const row = await measure('10 000 duplicate DATA packets', (b) => server.receive(b), blobs, () => {
        return `answered with ${server.stats.blobsOut - before} SACKs; dropped ${JSON.stringify(pick(server.stats.dropped))}`;
      });
      close();
      return row;
    }),
  );

  // 4. Compression bombs from an authentic peer (after decryption): capped output and the budget.
  const bombs = async (): Promise<Row> => {
    const key = random.bytes(256);
    // The channel's own limits (signaling-limits.ts): 2 MiB per payload, 4 MiB then 1 MiB/s inflated.
    const channel = createSignalingChannel('13.0.0', key, true);
    const cipher = new PacketCipher(key, false);
    const bomb = new Uint8Array(gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }));
    let counter = 0;
    const blobs = Array.from({ length: 200 }, () => {
      const body = new Uint8Array(4 + bomb.length);
      writeUint32BE(body, 0, ++counter);
      body.set(bomb, 4);
      return cipher.encrypt(body);
    });
    return measure(`gzip bombs (${bomb.length} B -> 64 MiB)`, (b) => channel.receive(b, Date.now()), blobs, () => `dropped payload ${channel.getStats().dropped.payload}, budget ${channel.getStats().dropped.budget}`);
  };
  rows.push(await trials(bombs));

  const fmt = (v: number): string => v.toFixed(2);
  process.stdout.write(`\nV3 signaling under hostile input: event-loop block until the loop is free again, ${TRIALS} trials\n`);
  process.stdout.write(
    "CPU ms = this process's CPU time until the loop is free (GC included): per blob the median, and the largest (median / max over trials); wall ms = medians, including time other processes held the CPU\n",
  );
  process.stdout.write('| case | blobs | per blob CPU ms | largest blob CPU ms | burst CPU ms | largest blob wall ms | burst wall ms | outcome (last trial) |\n|---|---:|---:|---:|---:|---:|---:|---|\n');
  for (const r of rows) {
    process.stdout.write(
      `| ${r.name} | ${r.blobs} | ${fmt(r.typicalMs)} | ${fmt(r.worstMs)} / ${fmt(r.worstMaxMs)} | ${fmt(r.totalMs)} / ${fmt(r.totalMaxMs)} | ${fmt(r.worstWallMs)} | ${fmt(r.totalWallMs)} | ${r.note} |\n`,
    );
  }
}

function pick(dropped: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(dropped).filter(([, n]) => n > 0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchSignalingV3().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
