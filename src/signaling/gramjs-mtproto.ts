/**
 * Adapter from a GramJS `TelegramClient` (npm `telegram`) to `MtprotoClient`. Written against the
 * client's public surface only (`invoke`, `addEventHandler`/`removeEventHandler` with a Raw event
 * builder, `getMe`), so the `teleproto` fork works as well: pass its `Api` namespace and a Raw
 * builder of its own if its dispatcher needs one.
 *
 * GramJS does not deliver the results of phone.requestCall / acceptCall / confirmCall as updates;
 * the call layer feeds those results into the same state handling itself.
 */
import { Api } from 'telegram';
import { Raw } from 'telegram/events/index.js';
import { CallSignalingError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { callListener } from '../safe-emit.js';
import { readLong } from './long.js';
import type { ApiNamespace, MtprotoClient, ResolvedUser } from './mtproto.js';

type UpdateCallback = (event: unknown) => unknown;

/** An event builder as GramJS's dispatcher uses it (resolve/build/filter); GramJS's `Raw` or a fork's. */
export type EventBuilderLike = object;

/** The part of GramJS's `TelegramClient` (or a fork's) this adapter uses. */
export interface GramJsClientLike {
  invoke(request: Api.AnyRequest): Promise<unknown>;
  addEventHandler(callback: (event: unknown) => unknown, event: EventBuilderLike): void;
  removeEventHandler(callback: (event: unknown) => unknown, event: EventBuilderLike): void;
  getMe(inputPeer?: boolean): Promise<unknown>;
  getInputEntity?(entity: unknown): Promise<unknown>;
}

export interface GramJsMtprotoOptions {
  /** Request namespace (e.g. teleproto's `Api`); default GramJS's. */
  readonly api?: ApiNamespace;
  /** Creates the event builder passed to addEventHandler; default `new Raw({})` from GramJS. */
  readonly createRawBuilder?: () => EventBuilderLike;
  /** Skip `getMe()` when the caller already knows its user id. */
  readonly selfUserId?: bigint;
  readonly logger?: Logger;
}

export class GramJsMtproto implements MtprotoClient {
  readonly api: ApiNamespace;
  private readonly client: GramJsClientLike;
  private readonly createRawBuilder: () => EventBuilderLike;
  private readonly logger: Logger;
  private selfUserId: bigint | undefined;

  constructor(client: GramJsClientLike, options: GramJsMtprotoOptions = {}) {
    this.client = client;
    this.api = options.api ?? Api;
    this.createRawBuilder = options.createRawBuilder ?? (() => new Raw({}));
    this.logger = options.logger ?? silentLogger;
    this.selfUserId = options.selfUserId;
  }

  invoke(request: Api.AnyRequest): Promise<unknown> {
    return this.client.invoke(request);
  }

  onUpdate(listener: (update: unknown) => void): () => void {
    const builder = this.createRawBuilder();
    // GramJS awaits handlers and prints what they throw; keep both away from it.
    const callback: UpdateCallback = (event) => callListener(listener, [event], this.logger, 'an update listener');
    this.client.addEventHandler(callback, builder);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.client.removeEventHandler(callback, builder);
    };
  }

  async getSelfUserId(): Promise<bigint> {
    if (this.selfUserId !== undefined) return this.selfUserId;
    // getMe(true) answers from the cached InputPeerUser when GramJS has one.
    const me = (await this.client.getMe(true)) as { userId?: unknown; id?: unknown } | null;
    const id = readLong(me?.userId ?? me?.id, 'own user id');
    this.selfUserId = id;
    return id;
  }

  /** Resolves through GramJS's entity cache / contacts.resolveUsername (`getInputEntity`). */
  async resolveUser(user: string | bigint): Promise<ResolvedUser> {
    if (!this.client.getInputEntity) throw new CallSignalingError('USER_NOT_RESOLVABLE', 'this client cannot resolve users');
    const peer = (await this.client.getInputEntity(typeof user === 'bigint' ? user.toString() : user)) as {
      className?: string;
      userId?: unknown;
      accessHash?: unknown;
    };
    if (peer?.className !== 'InputPeerUser' && peer?.className !== 'InputPeerSelf') {
      throw new CallSignalingError('USER_NOT_RESOLVABLE', `${String(user)} is not a user`);
    }
    if (peer.className === 'InputPeerSelf') throw new CallSignalingError('USER_NOT_RESOLVABLE', 'cannot call yourself');
    return { userId: readLong(peer.userId, 'user id'), accessHash: readLong(peer.accessHash, 'access hash') };
  }
}

/** Convenience: `new GramJsMtproto(client, options)`. */
export function gramJsMtproto(client: GramJsClientLike, options?: GramJsMtprotoOptions): MtprotoClient {
  return new GramJsMtproto(client, options);
}
