/**
 * `tgcall/fake` — an in-process fake of Telegram's phone service for tests and demos.
 *
 * ```ts
 * import { FakeTelegram } from 'tgcall/fake';
 * import { TelegramCalls } from 'tgcall';
 *
 * const telegram = new FakeTelegram();
 * // on one machine, media goes over loopback
 * const bot = new TelegramCalls(telegram.createClient(1n, 'bot'), { bindAddress: '127.0.0.1' });
 * const user = new TelegramCalls(telegram.createClient(2n, 'user'), { bindAddress: '127.0.0.1' });
 * await Promise.all([bot.start(), user.start()]);
 * bot.on('incoming', (call) => void call.accept());
 * const call = await user.call('@bot');
 * await call.whenConnected();                 // real DH, signaling, WebRTC and Opus
 * await call.hangup();
 * await Promise.all([bot.stop(), user.stop()]);
 * telegram.close();                           // releases every timer
 * ```
 *
 * Each `createClient(userId)` returns a `FakeClient` that satisfies the same `MtprotoClient`
 * interface as the GramJS adapter. Requests, results and updates are real GramJS `Api` objects,
 * round-tripped through GramJS's TL serializer. See `FakeTelegram` for the modelled server
 * behaviour (DH config, call states, receive_date, version choice, connections, busy, discard
 * propagation, RPC errors, signaling relay with seeded faults) and the test hooks.
 *
 * Also here, the audio test tools: `generateTone` / `ToneGenerator` / `toneFrames` make a sine
 * to send, `detectTone` / `toneFraction` / `toneRatio` (Goertzel) find it in what was received,
 * and `concatSamples` joins received frames.
 */
export { FakeTelegram } from './fake-telegram.js';
export { fakeFloodWait, fakeRpcError, firstCommonVersion } from './server-call.js';
export type { FakeCallInfo, FakeCallState } from './server-call.js';
export type {
  FakeCallSettings,
  FakeConnection,
  FakeTelegramReflectorOptions,
  FakeCustomParameters,
  FakeRequestLogEntry,
  FakeSignalingPacket,
  FakeTelegramHooks,
  FakeTelegramOptions,
} from './fake-options.js';
export type { FakeCallConfig } from './tl-views.js';
export { FakeClient } from './fake-client.js';
export { FakeReflector } from './fake-reflector.js';
export type { FakeReflectorCounters, FakeReflectorOptions } from './fake-reflector.js';
// What FakeReflector takes and returns.
export type { Endpoint } from '../network/endpoint.js';
export type { ReflectorConnectionInput } from '../network/reflector-servers.js';
export { ReflectorRouter } from './reflector-router.js';
export type {
  ReflectorClientInfo,
  ReflectorCounters,
  ReflectorFlow,
  ReflectorGrouping,
  ReflectorInjection,
  ReflectorRouterOptions,
  ReflectorSink,
  RouterSend,
} from './reflector-router.js';
export { SeededRandom } from './seeded-random.js';
export type { SignalingRelayOptions, SignalingRelayStats } from './signaling-relay.js';
export { roundTrip, tlBytes, tlParse } from './tl-round-trip.js';
// Test tools for audio: a tone to send, a Goertzel detector to find it in what was received.
export { ToneGenerator, generateTone, toneFrames, type ToneOptions } from '../media/tone.js';
export { goertzelPower, toneRatio, detectTone, toneFraction, type ToneDetection, type ToneDetectionOptions } from '../media/goertzel.js';
export { concatSamples } from '../media/pcm.js';
