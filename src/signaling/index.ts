/**
 * The call lifecycle over MTProto: `PhoneCalls` (one per account) places and receives calls; each
 * call is a `CallSignaling` object driven by the sans-I/O `CallMachine`.
 */
export { PhoneCalls, CALL_MIN_LAYER, CALL_MAX_LAYER } from './phone-calls.js';
export type { PhoneCallsOptions, PhoneCallsStats, PhoneCallsEvents, PlaceCallOptions } from './phone-calls.js';
export { CallSignaling, IncomingCallSignaling, OutgoingCallSignaling } from './call-signaling.js';
export type { CallSignalingEvents, CallSignalingStats } from './call-signaling.js';
export { CallMachine } from './call-machine.js';
export type { CallMachineOptions, CallMachineStats } from './call-machine.js';
export type {
  CallDirection,
  CallEndInfo,
  CallReadyInfo,
  CallRequest,
  InputCallRef,
  MachineOutput,
  SignalingState,
} from './call-types.js';
export { DEFAULT_CALL_TIMEOUTS, resolveCallTimeouts } from './call-timeouts.js';
export { customParameterFlag, unsupportedCustomParameter } from './custom-parameters.js';
export { ServerCallConfig, decodeServerCallTimeouts } from './server-call-config.js';
export type { ServerCallTimeouts, ServerCallConfigStats } from './server-call-config.js';
export type { CallTimeouts } from './call-timeouts.js';
export { DhConfigCache, DH_RANDOM_LENGTH, type FreshDhConfig } from './dh-config-cache.js';
export { GramJsMtproto, gramJsMtproto } from './gramjs-mtproto.js';
export type { EventBuilderLike, GramJsClientLike, GramJsMtprotoOptions } from './gramjs-mtproto.js';
export { readLong, toLong } from './long.js';
export type { TlLong } from './long.js';
export { isTlObject, unwrapUpdates } from './mtproto.js';
export type { ApiNamespace, MtprotoClient, ResolvedUser, TlObjectLike } from './mtproto.js';
export {
  decodeBool,
  decodeConnection,
  decodeDhConfig,
  decodeDiscardReason,
  decodePhoneCall,
  decodePhoneCallResult,
  decodePhoneUpdate,
  decodeProtocol,
} from './phone-call-record.js';
export type {
  CallProtocolRecord,
  DhConfigRecord,
  DiscardReason,
  PhoneCallHeader,
  PhoneCallRecord,
  PhoneConnection,
  PhoneUpdate,
} from './phone-call-record.js';
export { buildRequest, buildInputPhoneCall, buildProtocol, buildDiscardReason } from './request-builder.js';
export { classifyRpcFailure, rpcFailureError } from './rpc-failure.js';
export type { RpcFailure } from './rpc-failure.js';
export { SignalingInbox, DEFAULT_INBOX_LIMITS } from './signaling-inbox.js';
export type { SignalingInboxLimits } from './signaling-inbox.js';
export { SignalingSendQueue, DEFAULT_SIGNALING_RETRY } from './signaling-send-queue.js';
export type { SignalingRetryPolicy, SignalingSendQueueOptions, SignalingSendStats } from './signaling-send-queue.js';
