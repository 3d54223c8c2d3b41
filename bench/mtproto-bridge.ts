/**
 * The fake Telegram across a process or thread boundary, for benchmarks: a leg running in a child
 * process (or a worker thread) gets a `BridgeClient`, whose requests and updates travel as TL
 * bytes (GramJS's own serializer, as in the fake itself) to a `FakeClient` served on the other
 * side. This is what lets the benchmark run one call leg per process.
 */
import type { Api } from 'telegram';
import type { FakeClient } from '../src/fake/index.js';
import { tlBytes, tlParse } from '../src/fake/index.js';
import type { MtprotoClient, ResolvedUser } from '../src/signaling/mtproto.js';

export type BridgeMessage =
  | { readonly k: 'invoke'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly k: 'result'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly k: 'error'; readonly id: number; readonly error: BridgedError }
  | { readonly k: 'update'; readonly bytes: Uint8Array }
  | { readonly k: 'resolve'; readonly id: number; readonly user: string | bigint }
  | { readonly k: 'resolved'; readonly id: number; readonly user: ResolvedUser };

/** What `rpc-failure.ts` reads from a rejected invoke. */
interface BridgedError {
  readonly message: string;
  readonly errorMessage?: string;
  readonly code?: number;
  readonly seconds?: number;
}

/** A message channel: `process`/`ChildProcess` (IPC, advanced serialization) or a `MessagePort`/`Worker`. */
export interface BridgePort {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): () => void;
}

export function isBridgeMessage(m: unknown): m is BridgeMessage {
  const k = (m as { k?: unknown } | null)?.k;
  return k === 'invoke' || k === 'result' || k === 'error' || k === 'update' || k === 'resolve' || k === 'resolved';
}

const bytesOf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Serves `client` to the other side of `port`; returns the function that stops serving. */
export function serveFakeClient(port: BridgePort, client: FakeClient): () => void {
  const unsubscribe = client.onUpdate((update) => port.send({ k: 'update', bytes: tlBytes(update) } satisfies BridgeMessage));
  const stop = port.onMessage((m) => {
    if (!isBridgeMessage(m) || (m.k !== 'invoke' && m.k !== 'resolve')) return;
    const { id } = m;
    const answer =
      m.k === 'resolve'
        ? client.resolveUser(m.user).then((user): BridgeMessage => ({ k: 'resolved', id, user }))
        : client.invoke(tlParse(bytesOf(m.bytes)) as Api.AnyRequest).then((result): BridgeMessage => ({ k: 'result', id, bytes: tlBytes(result) }));
    answer.then(
      (message) => port.send(message),
      (err: unknown) => {
        const e = err as Partial<BridgedError>;
        const error: BridgedError = {
          message: String(e.message ?? err),
          ...(typeof e.errorMessage === 'string' ? { errorMessage: e.errorMessage } : {}),
          ...(typeof e.code === 'number' ? { code: e.code } : {}),
          ...(typeof e.seconds === 'number' ? { seconds: e.seconds } : {}),
        };
        port.send({ k: 'error', id, error } satisfies BridgeMessage);
      },
    );
  });
  return () => {
    unsubscribe();
    stop();
  };
}

/** The leg's side: an `MtprotoClient` whose server is on the other side of `port`. */
export class BridgeClient implements MtprotoClient {
  private readonly listeners = new Set<(update: unknown) => void>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readonly stop: () => void;

  constructor(
    private readonly port: BridgePort,
    private readonly userId: bigint,
  ) {
    this.stop = port.onMessage((m) => this.receive(m));
  }

  /** Requests travel serialized: entities must be resolved already (call `{ userId, accessHash }` from `resolveUser`). */
  invoke(request: Api.AnyRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.send({ k: 'invoke', id, bytes: tlBytes(request) } satisfies BridgeMessage);
    });
  }

  resolveUser(user: string | bigint): Promise<ResolvedUser> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as ResolvedUser), reject });
      this.port.send({ k: 'resolve', id, user } satisfies BridgeMessage);
    });
  }

  onUpdate(listener: (update: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getSelfUserId(): Promise<bigint> {
    return Promise.resolve(this.userId);
  }

  close(): void {
    this.stop();
    this.listeners.clear();
    for (const p of this.pending.values()) p.reject(new Error('bridge closed'));
    this.pending.clear();
  }

  private receive(m: unknown): void {
    if (!isBridgeMessage(m)) return;
    if (m.k === 'update') {
      const update = tlParse(bytesOf(m.bytes));
      for (const l of [...this.listeners]) l(update);
      return;
    }
    if (m.k === 'invoke' || m.k === 'resolve') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.k === 'result') p.resolve(tlParse(bytesOf(m.bytes)));
    else if (m.k === 'resolved') p.resolve(m.user);
    else p.reject(Object.assign(new Error(m.error.message), m.error));
  }
}
