/**
 * A small pool of worker_threads that encode Opus for the calls of a process (issue 17): at scale
 * a call costs about what its codec costs, and the encoder is most of that (≈ 8 of ≈ 10 ms per
 * call-second), so moving it off the JavaScript thread leaves that thread the network, the jitter
 * buffers and the application, and lets a second core work. Decoding stays on the JavaScript
 * thread: it is cheap (≈ 1.8 ms per call-second) and the jitter buffer decides at each pull
 * between a packet, FEC and concealment, which a round trip to a worker would delay.
 *
 * Facts this rests on (bench/worker-probe.ts, bench/codec-workers.ts): node-datachannel works in
 * one JavaScript environment per process only, so transports stay on the JavaScript thread; the
 * @evan/opus addon works in a worker, but the JavaScript thread must load it before any worker
 * does (else the process crashes with SIGSEGV when the last worker that loaded it exits).
 *
 * Each encoder is pinned to the least-loaded worker. Workers start with the first encoder and are
 * terminated `idleMs` after the last one closes, so a bot taking one call after another keeps its
 * threads (an idle worker sleeps in Atomics.wait: no CPU); they are unref'd, as is that timer, so
 * they never keep the process alive. The
 * JavaScript thread never blocks: it rings a worker's doorbell (`Atomics.notify`) and learns of
 * finished packets with `Atomics.waitAsync`. A worker that dies or errors is replaced, for its
 * calls, by encoders on the JavaScript thread (one warning per pool); the pool then starts no
 * more workers, so a crashing worker cannot crash-loop.
 */
import { Worker } from 'node:worker_threads';
import { toError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { COMPLETED, createSlots, DOORBELL, maxPacketBytes, SIGNAL_WORDS } from './codec-slots.js';
import type { CodecWorkerData, CodecWorkerMessage } from './codec-worker.js';
import { defaultOpusCodec, preloadOpus, validateEncoderOptions, type OpusCodec, type OpusEncoder, type OpusEncoderOptions } from './opus-codec.js';
import { WorkerOpusEncoder, type EncoderWorkerLink } from './worker-opus-encoder.js';

/** `Atomics.waitAsync` (V8 ≥ 8.7, every Node ≥ 16), typed here: the ES2022 lib this project targets lacks it. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync.bind(Atomics);

/** Slots per encoder: more than the frames a sender produces at once after a stall (10). */
const SLOTS = 16;
/** More workers than this is a typo: each is a thread with its own V8 heap (TelegramCalls' `codecWorkers` has the same bound). */
export const MAX_CODEC_WORKERS = 64;

/** How long idle workers stay for the next call (a bot answering calls one after another). */
export const CODEC_WORKER_IDLE_MS = 30_000;

export interface CodecWorkerPoolOptions {
  /** Worker threads (1..64). */
  readonly workers: number;
  /** Ms the workers stay after the last encoder closed (default 30 000; 0 = stop at once). */
  readonly idleMs?: number;
  readonly logger?: Logger;
}

class WorkerHandle {
  readonly encoders = new Set<WorkerOpusEncoder>();
  state: 'running' | 'stopping' | 'dead' = 'running';
  /** The doorbell value after our last ring, and the last completion handled. */
  rung = 0;
  handled = 0;
  watching = false;
  /** A doorbell ring is queued for the end of the current task (see `ring`). */
  ringQueued = false;
  /** The worker has loaded and made its first pass (it posts one message then). */
  ready = false;
  nextId = 1;

  constructor(
    readonly worker: Worker,
    readonly signal: Int32Array,
  ) {}

  post(m: CodecWorkerMessage): void {
    if (this.state === 'running') this.worker.postMessage(m);
  }
}

export class CodecWorkerPool {
  readonly size: number;
  /** Encoders and decoders on the JavaScript thread: decoding, and the fallback when a worker is lost. */
  private readonly local: OpusCodec = defaultOpusCodec();
  private readonly log: Logger;
  private handles: WorkerHandle[] = [];
  private live = 0;
  private readonly idleMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private lost = false;
  private warned = false;
  /** The codec to hand to media sessions (`audio.codec`): encoders in the workers, decoders here. */
  readonly codec: OpusCodec;

  constructor(options: CodecWorkerPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1 || options.workers > MAX_CODEC_WORKERS) {
      throw new RangeError(`workers must be an integer in 1..${MAX_CODEC_WORKERS}, got ${String(options.workers)}`);
    }
    this.size = options.workers;
    const idleMs = options.idleMs ?? CODEC_WORKER_IDLE_MS;
    if (!Number.isFinite(idleMs) || idleMs < 0) throw new RangeError(`idleMs must be a finite number ≥ 0, got ${String(idleMs)}`);
    this.idleMs = idleMs;
    this.log = options.logger ?? silentLogger;
    this.codec = {
      name: `${this.local.name}, encoding in ${this.size} codec worker${this.size > 1 ? 's' : ''}`,
      createEncoder: (o) => this.createEncoder(o),
      createDecoder: (channels) => this.local.createDecoder(channels),
    };
  }

  /** Workers running now (0 before the first encoder and after the last one closed). */
  get workers(): number {
    return this.handles.length;
  }

  /** Encoders whose frames a worker encodes now. */
  get encodersInWorkers(): number {
    let n = 0;
    for (const h of this.handles) n += h.encoders.size;
    return n;
  }

  /** The running worker threads, for tests that kill one. */
  get threadsForTest(): readonly Worker[] {
    return this.handles.map((h) => h.worker);
  }

  createEncoder(options: OpusEncoderOptions): OpusEncoder {
    validateEncoderOptions(options);
    this.cancelIdleStop();
    const handle = this.lost ? undefined : this.leastLoaded();
    if (!handle) return this.local.createEncoder(options);
    const frameSamples = 48 * options.frameMs * options.channels;
    const buffer = createSlots({ frameSamples, capacity: SLOTS, maxPacket: maxPacketBytes(options.frameMs) }) as SharedArrayBuffer;
    const id = handle.nextId++;
    this.live += 1;
    const encoder = new WorkerOpusEncoder(buffer, this.link(handle, id), { ...options }, this.local, () => this.released());
    handle.encoders.add(encoder);
    handle.post({ t: 'open', id, buffer, options });
    return encoder;
  }

  /**
   * Terminates the workers now; encoders still open fall back to the JavaScript thread. Resolves
   * once the threads have exited (their message ports gone). Idempotent.
   */
  close(): Promise<void> {
    this.cancelIdleStop();
    const exits = [...this.handles].map((h) => this.stopWorker(h, false));
    return Promise.all(exits).then(() => undefined);
  }

  private leastLoaded(): WorkerHandle | undefined {
    if (this.handles.length === 0) {
      // The JavaScript thread must hold the @evan/opus addon before any worker loads it (see above).
      preloadOpus();
      try {
        for (let i = 0; i < this.size; i += 1) this.handles.push(this.startWorker());
      } catch (err) {
        this.log.warn('codec workers could not start: encoding on the JavaScript thread', { error: toError(err).message });
        this.lost = true;
        void this.close();
        return undefined;
      }
    }
    let best: WorkerHandle | undefined;
    for (const h of this.handles) if (!best || h.encoders.size < best.encoders.size) best = h;
    return best;
  }

  private startWorker(): WorkerHandle {
    const data: CodecWorkerData = { signal: new SharedArrayBuffer(4 * SIGNAL_WORDS) };
    const worker = startCodecWorker(data);
    const handle = new WorkerHandle(worker, new Int32Array(data.signal));
    worker.unref(); // the calls' frame timer keeps the process alive while they run, never a worker
    worker.once('message', () => (handle.ready = true));
    worker.on('error', (err) => this.workerLost(handle, err));
    worker.on('exit', (code) => this.workerLost(handle, new Error(`codec worker exited with code ${code}`)));
    return handle;
  }

  private link(h: WorkerHandle, id: number): EncoderWorkerLink {
    return {
      get ready() {
        return h.ready && h.state === 'running';
      },
      ring: () => {
        // Once per task, not per frame: the shared frame timer ticks every call in one task, and
        // one wake-up of the worker (and one completion back) for all of them costs far less CPU
        // on both threads than one per call; the frames still leave within the same frame period.
        if (h.ringQueued) return;
        h.ringQueued = true;
        queueMicrotask(() => {
          h.ringQueued = false;
          if (h.state !== 'running') return;
          h.rung = (Atomics.add(h.signal, DOORBELL, 1) + 1) | 0;
          Atomics.notify(h.signal, DOORBELL);
          this.watch(h);
        });
      },
      ctl: (request, value) => h.post({ t: 'ctl', id, request, value }),
      detach: (encoder) => {
        if (h.encoders.delete(encoder)) h.post({ t: 'close', id });
      },
      behind: (encoder) => {
        this.warnOnce('a codec worker fell behind: its call encodes on the JavaScript thread now', undefined);
        encoder.fallBack();
      },
    };
  }

  /**
   * Waits (without blocking) for the worker's next completion, unless everything rung is done and
   * handled. `completed` takes a new value at each pass of the worker, so a completion is never
   * handled twice and never missed: it is read before the wait starts.
   */
  private watch(h: WorkerHandle): void {
    if (h.watching || h.state !== 'running') return;
    const completed = Atomics.load(h.signal, COMPLETED);
    if (completed === h.handled && completed === h.rung) return;
    h.watching = true;
    if (completed !== h.handled) {
      queueMicrotask(() => this.completed(h, completed));
      return;
    }
    const wait = waitAsync(h.signal, COMPLETED, completed);
    const then = (): void => this.completed(h, Atomics.load(h.signal, COMPLETED));
    if (wait.async) void wait.value.then(then);
    else queueMicrotask(then);
  }

  private completed(h: WorkerHandle, completed: number): void {
    h.watching = false;
    if (h.state !== 'running') return;
    h.handled = completed;
    for (const encoder of [...h.encoders]) {
      try {
        encoder.notify();
      } catch (err) {
        this.log.warn('codec worker: a ready listener threw', { error: toError(err).message });
      }
    }
    this.watch(h);
  }

  private workerLost(h: WorkerHandle, err: Error): void {
    if (h.state === 'dead') return;
    const expected = h.state === 'stopping';
    this.stopWorker(h, !expected);
    if (!expected) this.warnOnce('codec worker lost: its calls encode on the JavaScript thread now', err);
  }

  private stopWorker(h: WorkerHandle, lost: boolean): Promise<unknown> | undefined {
    if (h.state === 'dead') return undefined;
    const wasRunning = h.state === 'running';
    h.state = lost ? 'dead' : 'stopping';
    this.handles = this.handles.filter((x) => x !== h);
    if (lost) this.lost = true;
    for (const encoder of [...h.encoders]) encoder.fallBack();
    // Ends a pending Atomics.waitAsync (it resolves on notify whatever the value).
    Atomics.notify(h.signal, COMPLETED);
    const exited = wasRunning ? h.worker.terminate().catch(() => undefined) : undefined;
    if (!lost) h.state = 'dead';
    return exited;
  }

  private warnOnce(message: string, err: Error | undefined): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn(message, err ? { error: err.message } : {});
  }

  private released(): void {
    this.live -= 1;
    if (this.live > 0) return;
    if (this.idleMs === 0) return void this.close();
    this.cancelIdleStop();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.live === 0) void this.close();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private cancelIdleStop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/**
 * Starts codec-worker.js beside this file; from the TypeScript sources (tests, tsx) the worker
 * needs tsx's loader, which workers do not inherit, so it registers it first.
 */
function startCodecWorker(data: CodecWorkerData): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './codec-worker.ts' : './codec-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: data });
  // Resolved from here (its ESM entry), so that the worker finds it whatever the working directory.
  let tsx = 'tsx/esm/api';
  try {
    tsx = import.meta.resolve(tsx);
  } catch {
    // a runtime without import.meta.resolve: the worker resolves the bare name itself
  }
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}
