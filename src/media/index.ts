/**
 * `tgcall/media` — the media layer: Opus in RTP to and from PCM for one call (`MediaSession`, the
 * sans-I/O `MediaEngine` behind it and its parts: sender, receiver, jitter buffer, RTCP, transport
 * feedback), plus WAV and PCM helpers. The test tools (tone generator, Goertzel detector,
 * `concatSamples`) are in `tgcall/fake`.
 */
export { MediaSession, type MediaSessionOptions, type MediaSink, type AudioFrame, type MediaSessionEvents, type PlayOptions } from './media-session.js';
export { MediaEngine, type MediaEngineOptions, type OutputFrame, type TickResult } from './media-engine.js';
export type { MediaStats, SendStats, ReceiveStats, RtcpStats } from './media-stats.js';
export { AudioSender, type AudioSenderOptions, type AudioSenderStats, type InputMode, type MuteMode, type RtpExtensionIds } from './audio-sender.js';
export { AudioReceiver, type AudioReceiverOptions, type ReceivedFrame, type ReceiveResult, type AudioReceiverStats } from './audio-receiver.js';
export {
  JitterBuffer,
  type JitterBufferOptions,
  type JitterPacket,
  type PlayoutItem,
  type PopHints,
  type PushResult,
  type JitterBufferStats,
} from './jitter-buffer.js';
export { RtcpReporter, type RemoteReception, type RtcpHandleResult, type RtcpReporterOptions, type SenderInfo } from './rtcp-reporter.js';
export { ReceptionStats } from './reception-stats.js';
export * from './rtp.js';
export * from './rtcp.js';
export * from './transport-feedback.js';
export { TransportFeedbackRecorder, type TransportFeedbackRecorderOptions } from './transport-feedback-recorder.js';
export { opusPacketInfo, opusPacketSamples, OPUS_MAX_PACKET_SAMPLES, type OpusPacketInfo, type OpusMode } from './opus-packet.js';
export {
  defaultOpusCodec,
  preloadOpus,
  type DefaultOpusCodecOptions,
  type OpusApplication,
  type OpusCodec,
  type OpusEncoder,
  type DeferredOpusEncoder,
  type OpusDecoder,
  type OpusEncoderOptions,
} from './opus-codec.js';
export { CodecWorkerPool, MAX_CODEC_WORKERS, type CodecWorkerPoolOptions } from './codec-pool.js';
export { VoiceActivityDetector, type VadOptions } from './vad.js';
export { Pacer } from './pacer.js';
export { parseWav, encodeWav, toPcm48k, readWavFile, writeWavFile, MAX_WAV_READ_BYTES, type WavAudio, type WavFormat } from './wav.js';
export { openWavStream, MAX_WAV_DURATION_MS, type WavStream, type WavStreamOptions } from './wav-stream.js';
export { resample } from './resampler.js';
export { bytesToSamples, samplesToBuffer, downmixToMono, upmixToStereo, rmsDbfs } from './pcm.js';
export { WavFileWriter } from './wav-file-writer.js';
