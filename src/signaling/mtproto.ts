/**
 * The small MTProto surface the call lifecycle needs. Implemented by the GramJS adapter
 * (`gramjs-mtproto.ts`) and by the fake Telegram (`tgcall/fake`). Results and updates are read
 * structurally (by `className` and field names), so objects from GramJS, from the `teleproto` fork
 * or from a TL round trip are all accepted; nothing here relies on `instanceof`.
 */
import type { Api } from 'telegram';

/** The GramJS `Api` namespace (or a fork's namespace with the same shape) used to build requests. */
export type ApiNamespace = typeof Api;

export interface MtprotoClient {
  /** Sends one request; resolves with its TL result or rejects with the library's RPC/network error. */
  invoke(request: Api.AnyRequest): Promise<unknown>;
  /**
   * Registers an update listener. It receives single updates or `Updates`/`UpdatesCombined`/
   * `UpdateShort` containers (both are handled). Returns the unsubscribe function.
   */
  onUpdate(listener: (update: unknown) => void): () => void;
  /** Our own user id (admin_id when we call, participant_id when we are called). */
  getSelfUserId(): Promise<bigint>;
  /** Namespace used to construct requests; defaults to GramJS's `Api`. Set it for `teleproto`. */
  readonly api?: ApiNamespace;
  /**
   * Optional: turns a username / phone / id into a user id and access_hash (GramJS's
   * `getInputEntity`). Needed only to call users by name.
   */
  resolveUser?(user: string | bigint): Promise<ResolvedUser>;
}

export interface ResolvedUser {
  readonly userId: bigint;
  readonly accessHash: bigint | undefined;
}

/** A TL object as every MTProto library exposes it: a `className` plus fields. */
export interface TlObjectLike {
  readonly className: string;
  readonly [field: string]: unknown;
}

export function isTlObject(value: unknown): value is TlObjectLike {
  return typeof value === 'object' && value !== null && typeof (value as { className?: unknown }).className === 'string';
}

const MAX_CONTAINER_UPDATES = 1024;

/**
 * Flattens update containers into single updates. GramJS unwraps containers before calling Raw
 * handlers, but results of phone.discardCall / phone.setCallRating are `Updates` objects, and other
 * clients may hand containers over as they are.
 */
export function unwrapUpdates(value: unknown): unknown[] {
  if (!isTlObject(value)) return [];
  switch (value.className) {
    case 'Updates':
    case 'UpdatesCombined': {
      const list = value.updates;
      return Array.isArray(list) ? list.slice(0, MAX_CONTAINER_UPDATES) : [];
    }
    case 'UpdateShort':
      return value.update === undefined ? [] : [value.update];
    default:
      return [value];
  }
}
