/**
 * tgcall: Telegram 1:1 voice calls from Node.js.
 *
 * This entry point is the application API: `TelegramCalls` (one per account), the `Call` objects
 * it gives you and the types they take and return, the typed errors (`TgCallError` and its
 * `TgCallErrorCode` union), the logger, and the WAV helpers used with calls.
 *
 * The layers below it are entry points of their own, for advanced use:
 * - `tgcall/signaling`: the call lifecycle over MTProto (`PhoneCalls`, `CallSignaling`, the
 *   sans-I/O `CallMachine`) with every type they return;
 * - `tgcall/crypto`: DH, `keyFingerprint`, `emojiFingerprint`, `encryptPacket` / `decryptPacket`
 *   and the signaling channels;
 * - `tgcall/media`: the Opus/RTP media session and its parts;
 * - `tgcall/fake`: an in-process fake of Telegram's phone service, and the audio test tools
 *   (`generateTone`, `ToneGenerator`, `detectTone` / `toneFraction`, `concatSamples`).
 *
 * The WebRTC transport (`src/transport`), the network edge (`src/network`) and the signaling
 * carrier (`src/carrier`) are internal for now: they are being reshaped (a sans-I/O ordering core,
 * an injected peer connection, our own sockets, SCTP for V3), so only the types the API above
 * carries are exported here.
 */
export { TelegramCalls, type TelegramCallsOptions, type TelegramCallsEvents, type CallTarget } from './call/telegram-calls.js';
export {
  Call,
  type CallAudio,
  type CallDirection,
  type CallEmoji,
  type CallEndInfo,
  type CallEvents,
  type CallRecorder,
  type CallState,
  type CallStats,
} from './call/call.js';
export type { CallSessionStats } from './call/call-session.js';
export * from './errors.js';
export { consoleLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
// What TelegramCalls accepts as a client, and the discard reasons of CallEndInfo.
export type { ApiNamespace, DiscardReason, GramJsClientLike, MtprotoClient, ResolvedUser } from './signaling/index.js';
// For the libraryVersions option.
export { SUPPORTED_LIBRARY_VERSIONS, KNOWN_LIBRARY_VERSIONS } from './crypto/index.js';
// Types carried by CallStats and the remoteMediaState event.
export type { SignalingChannelStats } from './crypto/index.js';
export type { CarrierStats } from './carrier/index.js';
export type {
  CandidateInfo,
  CandidatePair,
  MediaState,
  SequencerStats,
  TransportStats,
  VideoRotation,
  VideoState,
} from './transport/index.js';
export type { CandidateType, EdgeStats, PathInfo } from './network/index.js';
export type { RelayPathStats } from './network/relay-path.js';
export {
  readWavFile,
  writeWavFile,
  WavFileWriter,
  type AudioFrame,
  type InputMode,
  type MediaStats,
  type PlayOptions,
  type ReceiveStats,
  type RtcpStats,
  type SendStats,
} from './media/index.js';
