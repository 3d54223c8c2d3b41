/**
 * An impaired network link between two ends, for interop benchmarks and network-change tests:
 * loss, delay and jitter applied in userspace (impairment_relay.py: two TUN devices and a relay
 * process between them), since this kernel has no netem. The ends must be in two different
 * network namespaces — two addresses in one namespace talk through `lo` and never cross the
 * link. An end is either a fresh namespace made here or the caller's own ('host', for an
 * in-process stack such as tgcall bound to its address).
 *
 *   const link = await createImpairedLink({ a: 'host', loss: 0.1, delayMs: 60, jitterMs: 30 });
 *   // tgcall binds link.a.address; an ntgcalls peer is spawned with netns: link.b
 *   await link.set({ down: true });   // e.g. a network change: nothing passes
 *   await link.remove();
 *
 * Everything is bounded and owned: the relay exits on stdin EOF and after `maxLifetimeS`, its TUN
 * devices vanish with it, and the namespaces made here are deleted by `remove()` (or by
 * netns.ts's exit hook and stale-namespace sweep if the test process dies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createBareNetns, freeHostSubnet, ip, type BareNetns } from './netns.js';

export interface Impairment {
  /** Independent loss per packet, 0–1. */
  loss?: number;
  delayMs?: number;
  /** Delay is uniform in [delayMs − jitterMs, delayMs + jitterMs] (netem's `delay D J`). */
  jitterMs?: number;
}

export interface ImpairedLinkOptions extends Impairment {
  /** End a: 'host' keeps it in this process's namespace; default a fresh namespace. */
  a?: 'host' | 'netns';
  seed?: number;
  /** Keep each direction in order (default: packets may overtake each other, as with netem jitter). */
  noReorder?: boolean;
  /** The relay exits by itself after this long. Default 900 s. */
  maxLifetimeS?: number;
  /** Per-packet trace file (see impairment_relay.py). */
  tracePath?: string;
}

export interface LinkEnd {
  /** The end's address on the link (10.77.x.1 for a, .2 for b). */
  readonly address: string;
  /** The TUN interface of this end (for a packet capture on it). */
  readonly interface: string;
  /** The namespace of this end; undefined for 'host'. */
  readonly netns: BareNetns | undefined;
}

export interface DirectionStats {
  packets: number;
  bytes: number;
  dropped: number;
  delivered: number;
  overflow: number;
}

export interface ImpairedLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  /** Changes the impairment; `down: true` drops everything (both directions) until set back. */
  set(change: Impairment & { down?: boolean }): Promise<void>;
  stats(): Promise<{ ab: DirectionStats; ba: DirectionStats; inFlight: number }>;
  /** Stops the relay and deletes the namespaces made for the link. Idempotent. */
  remove(): Promise<void>;
}

const RELAY = fileURLToPath(new URL('./impairment_relay.py', import.meta.url));
const REPLY_TIMEOUT_MS = 10_000;
let linkSequence = 0;

export async function createImpairedLink(options: ImpairedLinkOptions = {}): Promise<ImpairedLink> {
  linkSequence += 1;
  const stem = `tgimp${process.pid % 100000}${linkSequence % 100}`;
  const tunA = `${stem}a`;
  const tunB = `${stem}b`;
  const subnet = await freeHostSubnet();
  const made: BareNetns[] = [];
  let relay: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (relay && relay.exitCode === null && relay.signalCode === null) {
      relay.stdin?.end();
      const exited = once(relay, 'exit');
      const timer = setTimeout(() => relay?.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all(made.splice(0).map((ns) => ns.remove()));
  };

  try {
    const nsA = options.a === 'host' ? undefined : await createBareNetns();
    if (nsA) made.push(nsA);
    const nsB = await createBareNetns();
    made.push(nsB);

    const args = [RELAY, '--tun-a', tunA, '--tun-b', tunB, '--loss', String(options.loss ?? 0), '--delay-ms', String(options.delayMs ?? 0), '--jitter-ms', String(options.jitterMs ?? 0), '--max-lifetime-s', String(options.maxLifetimeS ?? 900)];
    if (options.seed !== undefined) args.push('--seed', String(options.seed));
    if (options.noReorder) args.push('--no-reorder');
    if (options.tracePath) args.push('--trace', options.tracePath);
    relay = spawn(process.env.PYTHON ?? 'python3', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const proc = relay;
    const lines = createInterface({ input: proc.stdout! });
    const events: Record<string, unknown>[] = [];
    const waiters: ((e: Record<string, unknown>) => void)[] = [];
    lines.on('line', (line) => {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const w = waiters.shift();
      if (w) w(ev);
      else events.push(ev);
    });
    const next = (): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const queued = events.shift();
        if (queued) {
          resolve(queued);
          return;
        }
        const timer = setTimeout(() => reject(new Error('impairment relay: no answer')), REPLY_TIMEOUT_MS);
        const onExit = (): void => reject(new Error('impairment relay exited'));
        proc.once('exit', onExit);
        waiters.push((e) => {
          clearTimeout(timer);
          proc.off('exit', onExit);
          resolve(e);
        });
      });
    const ready = await next();
    if (ready.ev !== 'ready') throw new Error(`impairment relay did not start: ${JSON.stringify(ready)}`);

    const a: LinkEnd = { address: `10.77.${subnet}.1`, interface: tunA, netns: nsA };
    const b: LinkEnd = { address: `10.77.${subnet}.2`, interface: tunB, netns: nsB };
    for (const end of [a, b]) {
      if (end.netns) await ip(['link', 'set', end.interface, 'netns', end.netns.name]);
      const inNs = end.netns ? ['-n', end.netns.name] : [];
      await ip([...inNs, 'addr', 'add', `${end.address}/24`, 'dev', end.interface]);
      await ip([...inNs, 'link', 'set', end.interface, 'up']);
    }

    let removed = false;
    const ask = async (op: Record<string, unknown>): Promise<Record<string, unknown>> => {
      if (removed) throw new Error('impairment link removed');
      proc.stdin!.write(`${JSON.stringify(op)}\n`);
      return next();
    };
    return {
      a,
      b,
      async set(change) {
        const op: Record<string, unknown> = { op: 'set' };
        if (change.loss !== undefined) op.loss = change.loss;
        if (change.delayMs !== undefined) op.delay_ms = change.delayMs;
        if (change.jitterMs !== undefined) op.jitter_ms = change.jitterMs;
        if (change.down !== undefined) op.down = change.down;
        await ask(op);
      },
      async stats() {
        const r = await ask({ op: 'stats' });
        return { ab: r.ab as DirectionStats, ba: r.ba as DirectionStats, inFlight: r.in_flight as number };
      },
      async remove() {
        if (removed) return;
        removed = true;
        lines.close();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
