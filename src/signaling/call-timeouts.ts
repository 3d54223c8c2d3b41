/**
 * Call deadlines, with the meaning official clients give the server's `config` values.
 *
 * - `receiveMs` (`call_receive_timeout_ms`, default 20 000): how long to wait for the other side's
 *   device to react. Caller: from phone.requestCall until a phoneCallWaiting with `receive_date`
 *   (the callee's phone.receivedCall), and from phoneCallAccepted until the final phoneCall. Callee:
 *   from accepting until the final phoneCall. TDLib `CallActor::try_send_request_query` /
 *   `on_begin_exchanging_key`; tdesktop `Call::startOutgoing`.
 * - `ringMs` (`call_ring_timeout_ms`, default 90 000): how long a call may ring. Caller: from
 *   `receive_date` until phoneCallAccepted (TDLib `do_update_call(phoneCallWaiting)`, tdesktop
 *   `Call::handleUpdate`); callee: from phoneCallRequested until the user answers (tdesktop `Call`
 *   constructor). Also used to ignore phoneCallRequested updates older than this (tdesktop
 *   `Instance::handleCallUpdate`).
 * - `connectMs` (`call_connect_timeout_ms`, default 30 000): tgcalls' `initializationTimeout`
 *   (tdesktop `createAndStartController`): from "ready" until the transport reports it is connected
 *   (`markConnected()`); past it the call fails with `CONNECT_TIMEOUT`.
 * - `hangupMs` (default 5 000): how long to wait for the phone.discardCall answer before reporting
 *   the call as ended anyway (tdesktop `kHangupTimeoutMs`).
 *
 * 0 disables receiveMs, ringMs or connectMs. Defaults: TDLib's option defaults for receive (20 000)
 * and ring (90 000); TDLib has no default for connect, 30 000 is the value other MTProto libraries'
 * config mocks carry (not verified against a live server).
 */
import { CallSignalingError } from '../errors.js';

export interface CallTimeouts {
  readonly receiveMs: number;
  readonly ringMs: number;
  readonly connectMs: number;
  readonly hangupMs: number;
}

export const DEFAULT_CALL_TIMEOUTS: CallTimeouts = Object.freeze({
  receiveMs: 20_000,
  ringMs: 90_000,
  connectMs: 30_000,
  hangupMs: 5_000,
});

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

export function resolveCallTimeouts(overrides: Partial<CallTimeouts> | undefined): CallTimeouts {
  const pick = (key: keyof CallTimeouts): number => {
    const v = overrides?.[key];
    if (v === undefined) return DEFAULT_CALL_TIMEOUTS[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMEOUT_MS) {
      throw new CallSignalingError('INVALID_OPTION', `timeouts.${key} must be a number of milliseconds in 0..${MAX_TIMEOUT_MS}`);
    }
    return v;
  };
  return { receiveMs: pick('receiveMs'), ringMs: pick('ringMs'), connectMs: pick('connectMs'), hangupMs: pick('hangupMs') };
}
