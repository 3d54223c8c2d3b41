/**
 * A codec worker (worker_threads) of `CodecWorkerPool`: holds the Opus encoders of the calls pinned
 * to it and encodes what their rings hold each time the JavaScript thread rings the doorbell.
 *
 * It blocks in `Atomics.wait` between passes — the cheapest wake-up there is, and allowed in a
 * worker — so its port is read with `receiveMessageOnPort` at the start of each pass instead of
 * 'message' events. Node queues a posted message on the receiving port as `postMessage` returns,
 * so a settings change posted before a doorbell is applied before the frames that follow it.
 * Messages: { t: 'open', id, buffer, options } | { t: 'ctl', id, request, value } | { t: 'close', id }.
 */
import { isMainThread, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { COMPLETED, DOORBELL, SlotReader } from './codec-slots.js';
import { defaultOpusCodec, type OpusEncoder, type OpusEncoderOptions } from './opus-codec.js';

export type CodecWorkerMessage =
  | { readonly t: 'open'; readonly id: number; readonly buffer: SharedArrayBuffer; readonly options: OpusEncoderOptions }
  | { readonly t: 'ctl'; readonly id: number; readonly request: number; readonly value: number }
  | { readonly t: 'close'; readonly id: number };

export interface CodecWorkerData {
  readonly signal: SharedArrayBuffer;
}

/**
 * Frames encoded before the worker says it is ready. A fresh worker runs the WebAssembly libopus
 * from V8's baseline compiler until its hot functions are tiered up: measured with 20 calls on 2
 * workers, they fell ~300 frames behind in the first second after taking over (0.3 s of added
 * delay per call), then kept up. Encoding speech-like noise first moves that time to before the
 * calls arrive; meanwhile the JavaScript thread encodes their frames.
 */
const WARM_UP_FRAMES = 250;

function warmUp(codec: ReturnType<typeof defaultOpusCodec>): void {
  const encoder = codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 });
  const pcm = new Int16Array(960);
  let seed = 1;
  for (let n = 0; n < WARM_UP_FRAMES; n += 1) {
    for (let i = 0; i < pcm.length; i += 1) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      pcm[i] = ((seed >> 16) - 16384) * Math.sin((n * 960 + i) / 700); // noise under a slow envelope: voiced, silent and between
    }
    encoder.encode(pcm);
  }
  encoder.close();
}

function run(data: CodecWorkerData): void {
  const port = parentPort!;
  const signal = new Int32Array(data.signal);
  // The WebAssembly libopus, never the @evan/opus addon: the addon encodes into one output buffer
  // per process (node/index.js: `buffers.encoder()`, sliced after each encode), so two threads
  // encoding at once corrupt each other's packets (measured: 3 of 500 main-thread packets differed
  // while one worker encoded; audible in the tests). Each worker has its own wasm memory.
  const codec = defaultOpusCodec({ wasmEncoder: true });
  const encoders = new Map<number, { reader: SlotReader; encoder: OpusEncoder }>();

  const apply = (m: CodecWorkerMessage): void => {
    if (m.t === 'open') {
      encoders.set(m.id, { reader: new SlotReader(m.buffer), encoder: codec.createEncoder(m.options) });
    } else if (m.t === 'ctl') {
      encoders.get(m.id)?.encoder.ctl?.(m.request, m.value);
    } else {
      encoders.get(m.id)?.encoder.close();
      encoders.delete(m.id);
    }
  };

  warmUp(codec);
  let seen = Atomics.load(signal, DOORBELL);
  port.postMessage('ready'); // the JavaScript thread encodes its calls' first frames itself until now
  for (;;) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      try {
        apply(m.message as CodecWorkerMessage);
      } catch {
        // A rejected setting keeps the encoder as it was (as on the JavaScript thread, where the
        // setters' failures never reach the call); an encoder that cannot be created leaves its
        // ring unread, and the JavaScript thread's bound on it falls back to its own encoder.
      }
    }
    for (const { reader, encoder } of encoders.values()) {
      for (let pcm = reader.next(); pcm; pcm = reader.next()) {
        let packet: Uint8Array | null;
        try {
          packet = encoder.encode(pcm);
        } catch {
          packet = null; // this frame is dropped; the call goes on
        }
        reader.complete(packet);
      }
    }
    Atomics.store(signal, COMPLETED, seen);
    Atomics.notify(signal, COMPLETED);
    // Sleeps only if nothing was rung since `seen` was read: no doorbell is missed.
    Atomics.wait(signal, DOORBELL, seen);
    seen = Atomics.load(signal, DOORBELL);
  }
}

if (!isMainThread && (workerData as Partial<CodecWorkerData> | undefined)?.signal instanceof SharedArrayBuffer) {
  run(workerData as CodecWorkerData);
}
