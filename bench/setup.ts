/**
 * Sequential call setup (`npx tsx bench/setup.ts [--calls N]`, issue 14 item 5): N calls in a row
 * between two tgcall phones on loopback through the fake Telegram — real DH, encrypted signaling,
 * the network edge, libdatachannel ICE/DTLS-SRTP. Each call is answered at once and hung up as
 * soon as both sides are connected. Prints the setup time (phone.requestCall to both connected)
 * and the media-path part (keys agreed to connected) as p50 / p95 / max; asserts nothing.
 * The goal (issue 14): p95 ≤ 200 ms over 50 calls, without libdatachannel's ~1 s DTLS stall.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeTelegram } from '../src/fake/index.js';
import { TelegramCalls, type Call } from '../src/index.js';

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export default async function main(calls = 50): Promise<void> {
  const telegram = new FakeTelegram({ seed: 50 });
  const a = new TelegramCalls(telegram.createClient(20_001n, 'a'), { bindAddress: '127.0.0.1' });
  const b = new TelegramCalls(telegram.createClient(20_002n, 'b'), { bindAddress: '127.0.0.1' });
  await Promise.all([a.start(), b.start()]);
  const setup: number[] = [];
  const media: number[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < calls; i++) {
      const incoming = new Promise<Call>((resolve) => b.once('incoming', resolve));
      const startedAt = performance.now();
      try {
        const out = await a.call(20_002n);
        const inc = await incoming;
        await Promise.all([inc.accept(), out.whenConnected()]);
        setup.push(performance.now() - startedAt);
        media.push(Math.max(out.getStats().connectMs ?? NaN, inc.getStats().connectMs ?? NaN));
        await Promise.all([out.hangup(), inc.whenEnded()]);
      } catch {
        failed += 1;
      }
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    telegram.close();
  }
  const row = (label: string, v: number[]) => ({
    '': label,
    p50: Math.round(quantile(v, 0.5)),
    p95: Math.round(quantile(v, 0.95)),
    max: Math.round(Math.max(...v)),
    'over 1 s': v.filter((x) => x > 1_000).length,
  });
  console.log(`\nSequential call setup, tgcall <-> tgcall on loopback: ${calls} calls, ${failed} failed, load average ${loadavg()[0]!.toFixed(1)}`);
  console.table([row('setup ms (requestCall -> both connected)', setup), row('media path ms (keys agreed -> connected, slower side)', media)]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { calls: { type: 'string' } } });
  await main(values.calls === undefined ? 50 : Number(values.calls));
}
