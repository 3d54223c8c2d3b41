/**
 * One account's session on the fake Telegram. Satisfies the signaling layer's `MtprotoClient`, so
 * tests and demos use it exactly like a GramJS client wrapped by `GramJsMtproto`.
 */
import type { Api } from 'telegram';
import { CallSignalingError } from '../errors.js';
import type { Logger } from '../logger.js';
import { callListener } from '../safe-emit.js';
import type { MtprotoClient, ResolvedUser } from '../signaling/mtproto.js';

/** @internal what a client needs from its server. */
export interface FakeServerPort {
  handle(from: FakeClient, request: Api.AnyRequest): Promise<unknown>;
  detach(client: FakeClient): void;
  lookupUser(query: string | bigint): { userId: bigint; accessHash: bigint } | undefined;
}

export class FakeClient implements MtprotoClient {
  private readonly listeners = new Set<(update: unknown) => void>();
  private closed = false;

  /** @internal */
  constructor(
    private readonly server: FakeServerPort,
    readonly userId: bigint,
    readonly accessHash: bigint,
    readonly name: string,
    private readonly logger: Logger,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  invoke(request: Api.AnyRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('Cannot send requests while disconnected (fake client closed)'));
    return this.server.handle(this, request);
  }

  onUpdate(listener: (update: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  getSelfUserId(): Promise<bigint> {
    return Promise.resolve(this.userId);
  }

  /** Finds a fake user by id, name or `@name`. */
  resolveUser(user: string | bigint): Promise<ResolvedUser> {
    const found = this.server.lookupUser(user);
    if (!found) return Promise.reject(new CallSignalingError('USER_NOT_RESOLVABLE', `no fake user ${String(user)}`));
    return Promise.resolve({ userId: found.userId, accessHash: found.accessHash });
  }

  /** Disconnects: no more updates, requests fail like on a dropped connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.server.detach(this);
  }

  /** @internal delivers one (already round-tripped) update or container. */
  _deliver(update: unknown): void {
    if (this.closed) return;
    for (const listener of [...this.listeners]) callListener(listener, [update], this.logger, 'a fake client update listener');
  }
}
