/**
 * Classification of what `invoke` rejected with. GramJS throws `FloodWaitError` (errorMessage
 * "FLOOD", numeric `.seconds`) for FLOOD_WAIT_X, other `RPCError`s with `errorMessage` (e.g.
 * "CALL_ALREADY_DECLINED") and `code`, and plain `Error`s for transport problems. Read
 * structurally so forks work too.
 */
import { CallSignalingError, toError, type TgCallError, type UnlistedRpcErrorCode } from '../errors.js';

export type RpcFailure =
  | { readonly kind: 'flood'; readonly waitMs: number }
  | { readonly kind: 'rpc'; readonly type: string; readonly code: number | undefined }
  | { readonly kind: 'network'; readonly message: string };

const FLOOD_WAIT = /FLOOD_(?:PREMIUM_)?WAIT_(\d{1,9})/;
const RPC_TYPE = /^[A-Z][A-Z0-9_]{1,63}$/;

export function classifyRpcFailure(err: unknown): RpcFailure {
  if (typeof err === 'object' && err !== null) {
    const e = err as { seconds?: unknown; errorMessage?: unknown; code?: unknown; message?: unknown };
    const code = typeof e.code === 'number' ? e.code : undefined;
    if (typeof e.seconds === 'number' && Number.isFinite(e.seconds) && e.seconds >= 0 && (code === 420 || e.errorMessage === 'FLOOD')) {
      return { kind: 'flood', waitMs: e.seconds * 1000 };
    }
    const type = typeof e.errorMessage === 'string' ? e.errorMessage : undefined;
    const flood = FLOOD_WAIT.exec(type ?? (typeof e.message === 'string' ? e.message : ''));
    if (flood) return { kind: 'flood', waitMs: Number(flood[1]) * 1000 };
    if (type !== undefined && RPC_TYPE.test(type)) return { kind: 'rpc', type, code };
  }
  return { kind: 'network', message: toError(err).message };
}

/**
 * A typed error for a failed request: the RPC error type becomes the `code`
 * (e.g. `USER_PRIVACY_RESTRICTED`), transport failures become `NETWORK_ERROR`.
 */
export function rpcFailureError(err: unknown, method: string): TgCallError {
  const failure = classifyRpcFailure(err);
  switch (failure.kind) {
    case 'flood':
      return new CallSignalingError('FLOOD_WAIT', `${method}: flood wait of ${failure.waitMs} ms`, { cause: err });
    case 'rpc':
      // The server's own error type is the code; the ones the library meets are listed in
      // TelegramRpcErrorCode, any other passes through unchanged.
      return new CallSignalingError(failure.type as UnlistedRpcErrorCode, `${method} failed: ${failure.type}`, { cause: err });
    case 'network':
      return new CallSignalingError('NETWORK_ERROR', `${method} failed: ${failure.message}`, { cause: err });
  }
}
