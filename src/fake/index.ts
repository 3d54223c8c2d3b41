/**
 * `tgcall/fake` — an in-process fake of Telegram's phone service for tests and demos.
 *
 * ```ts
 * import { FakeTelegram } from 'tgcall/fake';
 * import { PhoneCalls } from 'tgcall';
 *
 * const telegram = new FakeTelegram({ connections: [{ kind: 'webrtc', ip: '127.0.0.1', port: 3478, stun: true }] });
 * const alice = new PhoneCalls({ mtproto: telegram.createClient(1n, 'alice') });
 * const bob = new PhoneCalls({ mtproto: telegram.createClient(2n, 'bob') });
 * await Promise.all([alice.start(), bob.start()]);
 * bob.on('incoming', (call) => call.accept());
 * const call = await alice.call(2n);
 * const ready = await call.whenReady(); // key, emoji, version, connections …
 * call.hangup();
 * telegram.close(); // releases every timer
 * ```
 *
 * Each `createClient(userId)` returns a `FakeClient` that satisfies the same `MtprotoClient`
 * interface as the GramJS adapter. Requests, results and updates are real GramJS `Api` objects,
 * round-tripped through GramJS's TL serializer. See `FakeTelegram` for the modelled server
 * behaviour (DH config, call states, receive_date, version choice, connections, busy, discard
 * propagation, RPC errors, signaling relay with seeded faults) and the test hooks.
 */
export {
  FakeTelegram,
  fakeFloodWait,
  fakeRpcError,
  firstCommonVersion,
} from './fake-telegram.js';
export type {
  FakeCallInfo,
  FakeCallState,
  FakeConnection,
  FakeRequestLogEntry,
  FakeSignalingPacket,
  FakeTelegramHooks,
  FakeTelegramOptions,
} from './fake-telegram.js';
export { FakeClient } from './fake-client.js';
export { SeededRandom } from './seeded-random.js';
export { SignalingRelay } from './signaling-relay.js';
export type { SignalingRelayOptions, SignalingRelayStats } from './signaling-relay.js';
export { roundTrip, tlBytes, tlParse } from './tl-round-trip.js';
