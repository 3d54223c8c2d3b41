/**
 * Do the native parts work inside `worker_threads`? (`npx tsx bench/worker-probe.ts`)
 *
 * Each scenario runs in a fresh process (a crash ends only that scenario) and reports: the Opus
 * bindings (native encoder addon, libopus WebAssembly) in a worker; a whole tgcall <-> tgcall call
 * inside one worker; a call between the main thread and a worker, and between two workers (the
 * fake Telegram on the main thread, served to the workers over their MessagePorts); two workers
 * with a call each at the same time. A scenario passes when the call connects, audio flows both
 * ways, it hangs up, and every worker exits by itself. Prints a table; asserts nothing.
 *
 * Found with node-datachannel 0.33.4 and @evan/opus 1.0.3 on Node 20: node-datachannel works in
 * one JavaScript environment per process only (its wrappers keep their class constructors in
 * process-wide statics, set by the first environment that loads the addon: a second one aborts
 * with a V8 fatal error when it creates a track); the @evan/opus addon works in a worker, but
 * unloading it with the last worker that loaded it crashes the process (SIGSEGV) unless the main
 * thread loaded it too.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { FakeTelegram } from '../src/fake/index.js';
import type { BridgePort } from './mtproto-bridge.js';
import { serveFakeClient } from './mtproto-bridge.js';

/**
 * `opusInMain`: the main thread loads the Opus bindings first. Without it, the @evan/opus native
 * addon is unloaded with the last worker that loaded it, and its thread-exit destructor then runs
 * from unmapped memory (SIGSEGV as that worker's thread exits).
 */
const SCENARIOS = {
  'opus in a worker': { workers: [{ task: 'opus' }], mainLeg: false, opusInMain: false },
  'opus in a worker, main thread loaded it first': { workers: [{ task: 'opus' }], mainLeg: false, opusInMain: true },
  'a call inside one worker (both legs)': { workers: [{ task: 'pair' }], mainLeg: false, opusInMain: true },
  'a call between the main thread and a worker': { workers: [{ task: 'leg', role: 'callee' }], mainLeg: true, opusInMain: true },
  'a call between two workers': { workers: [{ task: 'leg', role: 'callee' }, { task: 'leg', role: 'caller' }], mainLeg: false, opusInMain: true },
  'two workers, a call inside each, at once': { workers: [{ task: 'pair' }, { task: 'pair' }], mainLeg: false, opusInMain: true },
} as const;
type Scenario = keyof typeof SCENARIOS;
type WorkerTask = { readonly task: 'opus' } | { readonly task: 'pair' } | { readonly task: 'leg'; readonly role: 'caller' | 'callee' };

interface Outcome {
  ok: boolean;
  detail: string;
}

const A = 30_001n;
const B = 30_002n;
const AUDIO_SECONDS = 2;

function portOf(p: MessagePort | Worker): BridgePort {
  return {
    send: (m) => p.postMessage(m),
    onMessage: (listener) => {
      p.on('message', listener);
      return () => p.off('message', listener);
    },
  };
}

/** Starts this file as a worker (tsx's loader hooks are not inherited: register them first). */
function startWorker(task: WorkerTask, self?: bigint, peer?: bigint): Worker {
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  return new Worker(boot, { eval: true, workerData: { task, self, peer } });
}

// ---- worker side -------------------------------------------------------------------------------

async function workerMain(): Promise<void> {
  const { task, self, peer } = workerData as { task: WorkerTask; self?: bigint; peer?: bigint };
  const port = portOf(parentPort!);
  let result: Outcome;
  try {
    if (task.task === 'opus') result = await opusProbe();
    else if (task.task === 'pair') result = await pairProbe();
    else result = await legProbe(port, task.role, self!, peer!);
  } catch (err) {
    result = { ok: false, detail: `threw: ${String(err)}` };
  }
  port.send({ k: 'outcome', ...result }); // then nothing may keep the worker alive: it has to exit by itself
}

async function opusProbe(): Promise<Outcome> {
  const { defaultOpusCodec } = await import('../src/media/index.js');
  const { toneLoop } = await import('./measure.js');
  const codec = defaultOpusCodec();
  const enc = codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 });
  const dec = codec.createDecoder(1);
  let samples = 0;
  for (const frame of toneLoop(440)) samples += dec.decode(enc.encode(frame)).length;
  const plc = dec.conceal(960).length;
  enc.close();
  dec.close();
  return { ok: samples === 50 * 960 && plc === 960, detail: `${codec.name}: 50 frames encoded and decoded, ${samples} samples; PLC ${plc}` };
}

async function talkAndHangUp(out: import('../src/index.js').Call, inc: import('../src/index.js').Call): Promise<string> {
  const { playLoop, toneLoop } = await import('./measure.js');
  playLoop(out, toneLoop(440));
  playLoop(inc, toneLoop(880));
  await new Promise((r) => setTimeout(r, AUDIO_SECONDS * 1000));
  const got = [out, inc].map((c) => c.getStats().media.received.packets);
  await out.hangup();
  return `packets received ${got.join(' / ')}`;
}

async function pairProbe(): Promise<Outcome> {
  const { TelegramCalls } = await import('../src/index.js');
  const telegram = new FakeTelegram({ seed: 7 });
  const a = new TelegramCalls(telegram.createClient(A, 'a'), { bindAddress: '127.0.0.1' });
  const b = new TelegramCalls(telegram.createClient(B, 'b'), { bindAddress: '127.0.0.1' });
  try {
    await Promise.all([a.start(), b.start()]);
    const incoming = new Promise<import('../src/index.js').Call>((r) => b.once('incoming', r));
    const out = await a.call(B);
    const inc = await incoming;
    await Promise.all([inc.accept(), out.whenConnected()]);
    const detail = await talkAndHangUp(out, inc);
    const packets = [out, inc].map((c) => c.getStats().media.received.packets);
    return { ok: packets.every((n) => n > 25 * AUDIO_SECONDS), detail };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    telegram.close();
  }
}

async function legProbe(port: BridgePort, role: 'caller' | 'callee', self: bigint, peer: bigint): Promise<Outcome> {
  const { TelegramCalls } = await import('../src/index.js');
  const { BridgeClient } = await import('./mtproto-bridge.js');
  const client = new BridgeClient(port, self);
  const phone = new TelegramCalls(client, { bindAddress: '127.0.0.1' });
  try {
    await phone.start();
    return await runLeg(port, phone, client, role, peer);
  } finally {
    await phone.stop();
    client.close();
  }
}

/** One leg: the callee waits for the call; both play a tone, the caller hangs up. */
async function runLeg(
  port: BridgePort,
  phone: import('../src/index.js').TelegramCalls,
  client: { resolveUser(user: bigint): Promise<{ userId: bigint; accessHash: bigint | undefined }> },
  role: 'caller' | 'callee',
  peer: bigint,
): Promise<Outcome> {
  const { playLoop, toneLoop } = await import('./measure.js');
  let call: import('../src/index.js').Call;
  if (role === 'caller') {
    await waitFor(port, 'go');
    const target = await client.resolveUser(peer);
    call = await phone.call(target.accessHash === undefined ? { userId: target.userId } : { userId: target.userId, accessHash: target.accessHash });
    await call.whenConnected();
  } else {
    const incoming = new Promise<import('../src/index.js').Call>((r) => phone.once('incoming', r));
    port.send({ k: 'ready' });
    call = await incoming;
    await Promise.all([call.accept(), call.whenConnected()]);
  }
  playLoop(call, toneLoop(role === 'caller' ? 440 : 880));
  await new Promise((r) => setTimeout(r, AUDIO_SECONDS * 1000));
  const packets = call.getStats().media.received.packets;
  if (role === 'caller') await call.hangup();
  else await new Promise<void>((r) => (call.state === 'ended' ? r() : call.once('ended', () => r())));
  return { ok: packets > 25 * AUDIO_SECONDS, detail: `${role}: ${packets} packets received` };
}

function waitFor(port: BridgePort, k: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const stop = port.onMessage((m) => {
      if ((m as { k?: unknown }).k !== k) return;
      stop();
      resolve(m as Record<string, unknown>);
    });
  });
}

// ---- one scenario, in its own process -------------------------------------------------------------

async function runScenario(name: Scenario): Promise<Outcome> {
  const spec = SCENARIOS[name];
  if (spec.opusInMain) (await import('../src/media/index.js')).preloadOpus();
  const telegram = new FakeTelegram({ seed: 11 });
  const details: string[] = [];
  let ok = true;
  try {
    const ids: [bigint, bigint][] = spec.mainLeg ? [[B, A]] : [[B, A], [A, B]];
    const workers = spec.workers.map((task, i) => {
      const [self, peer] = ids[i] ?? [0n, 0n];
      const w = startWorker(task, self, peer);
      const port = portOf(w);
      if (task.task === 'leg') serveFakeClient(port, telegram.createClient(self, `w${i}`));
      const exited = new Promise<number>((resolve) => w.once('exit', resolve));
      const errored = new Promise<never>((_, reject) => w.once('error', reject));
      return { w, port, task, exited, errored, outcome: waitFor(port, 'outcome') };
    });
    const legs = workers.filter((x) => x.task.task === 'leg');
    if (legs.length > 0) {
      const callee = legs.find((x) => (x.task as { role?: string }).role === 'callee')!;
      await waitFor(callee.port, 'ready');
      if (spec.mainLeg) {
        const { TelegramCalls } = await import('../src/index.js');
        const phone = new TelegramCalls(telegram.createClient(A, 'main'), { bindAddress: '127.0.0.1' });
        await phone.start();
        try {
          const { playLoop, toneLoop } = await import('./measure.js');
          const call = await phone.call(B);
          await call.whenConnected();
          playLoop(call, toneLoop(440));
          await new Promise((r) => setTimeout(r, AUDIO_SECONDS * 1000));
          const packets = call.getStats().media.received.packets;
          ok &&= packets > 25 * AUDIO_SECONDS;
          details.push(`main: ${packets} packets received`);
          await call.hangup();
        } finally {
          await phone.stop();
        }
      } else {
        for (const l of legs) if ((l.task as { role?: string }).role === 'caller') l.port.send({ k: 'go' });
      }
    }
    for (const x of workers) {
      const o = (await Promise.race([x.outcome, x.errored])) as unknown as Outcome;
      ok &&= o.ok;
      details.push(o.detail);
      const bounded = await Promise.race([x.exited, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000).unref())]);
      if (bounded !== 0) {
        ok = false;
        details.push(`worker exit: ${bounded}`);
        if (typeof bounded === 'string') await x.w.terminate();
      }
    }
  } catch (err) {
    ok = false;
    details.push(`failed: ${String(err)}`);
  } finally {
    telegram.close();
  }
  return { ok, detail: details.join('; ') };
}

export default async function workerProbe(): Promise<void> {
  const rows: Record<string, string>[] = [];
  for (const name of Object.keys(SCENARIOS) as Scenario[]) {
    process.stderr.write(`worker probe: ${name}\n`);
    const child = fork(fileURLToPath(import.meta.url), ['--scenario', name], { execArgv: process.execArgv, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    const outcome = await new Promise<Outcome | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 120_000); // then killed below
      child.once('message', (m) => resolve(m as Outcome));
      child.once('exit', () => resolve(undefined));
      child.once('exit', () => clearTimeout(timer));
    });
    const exit = await new Promise<string>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(`${child.exitCode ?? child.signalCode}`);
      else {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('did not exit within 15 s (killed)');
        }, 15_000);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve(`${code ?? signal}`);
        });
      }
    });
    const lines = stderr.trim().split('\n').filter(Boolean);
    const lastError = (lines.find((l) => /FATAL|Error|Segmentation|Aborted/.test(l)) ?? lines.at(-1) ?? '').slice(0, 160);
    rows.push({
      scenario: name,
      result: outcome?.ok && exit === '0' ? 'works' : 'FAILS',
      'process exit': exit,
      detail: `${outcome ? outcome.detail : 'no report'}${exit !== '0' && lastError ? `; stderr: ${lastError}` : ''}`,
    });
  }
  process.stdout.write(`\nnode-datachannel and @evan/opus inside worker_threads (node ${process.version})\n`);
  console.table(rows);
}

if (!isMainThread) {
  await workerMain();
} else if (process.argv.includes('--scenario')) {
  const name = process.argv[process.argv.indexOf('--scenario') + 1] as Scenario;
  const outcome = await runScenario(name);
  process.send?.(outcome);
  process.disconnect?.();
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await workerProbe();
}
