/**
 * tgcall: Telegram 1:1 voice calls from Node.js.
 *
 * Start with `TelegramCalls` (one per account) and the `Call` objects it gives you. The layers
 * below are exported too, for advanced use: the call crypto, the signaling over MTProto, the
 * WebRTC transport and the Opus media session.
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
export * from './errors.js';
export { consoleLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export {
  PhoneCalls,
  GramJsMtproto,
  gramJsMtproto,
  type MtprotoClient,
  type ResolvedUser,
  type CallReadyInfo,
  type PhoneCallsOptions,
} from './signaling/index.js';
export { SUPPORTED_LIBRARY_VERSIONS, KNOWN_LIBRARY_VERSIONS, emojiFingerprint, keyFingerprint } from './crypto/index.js';
export type { MediaState } from './transport/index.js';
export {
  readWavFile,
  writeWavFile,
  WavFileWriter,
  generateTone,
  concatSamples,
  ToneGenerator,
  toneFraction,
  detectTone,
  type AudioFrame,
  type InputMode,
  type MediaStats,
  type PlayOptions,
} from './media/index.js';
