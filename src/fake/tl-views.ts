/**
 * The fake server's TL views: pure builders that turn its record of a call into the GramJS `Api`
 * objects a client sees. Which side sees what follows the real server: the caller's
 * phoneCallWaiting carries its own protocol, the final phoneCall carries g_b to the caller and
 * g_a to the callee (call-crypto-and-signaling.md §2.4 steps 5–6), and the protocol of the
 * accepted call is the intersection of both sides' with the chosen version only.
 */
import { Api } from 'telegram';
import { toLong } from '../signaling/long.js';
import type { CallProtocolRecord, DiscardReason } from '../signaling/phone-call-record.js';
import type { FakeConnection, FakeCustomParameters } from './fake-options.js';
import { FakeMigrateConferenceCallReason, registerMigrateReason } from './migrate-reason.js';
import type { ServerCall, ServiceUser } from './server-call.js';

/** What the server puts into a phoneCall: `connections`, `p2p_allowed`, `custom_parameters`. */
export interface CallSettings {
  readonly connections?: readonly FakeConnection[];
  readonly p2pAllowed?: boolean;
  /** This call's, already chosen (undefined leaves the field out). */
  readonly customParameters?: FakeCustomParameters;
}

/** The fields every phoneCallWaiting / Requested / Accepted / phoneCall starts with. */
function header(call: ServerCall) {
  return {
    video: call.video,
    id: toLong(call.id),
    accessHash: toLong(call.accessHash),
    date: call.date,
    adminId: toLong(call.adminId),
    participantId: toLong(call.participantId),
  };
}

export function protocolObject(p: CallProtocolRecord): Api.PhoneCallProtocol {
  return new Api.PhoneCallProtocol({
    udpP2p: p.udpP2p,
    udpReflector: p.udpReflector,
    minLayer: p.minLayer,
    maxLayer: p.maxLayer,
    libraryVersions: [...p.libraryVersions],
  });
}

/** Both sides' protocol intersected, with the chosen version as the only library version. */
export function negotiatedProtocol(call: ServerCall): Api.PhoneCallProtocol {
  const a = call.adminProtocol;
  const b = call.participantProtocol ?? a;
  return new Api.PhoneCallProtocol({
    udpP2p: a.udpP2p && b.udpP2p,
    udpReflector: a.udpReflector && b.udpReflector,
    minLayer: Math.max(a.minLayer, b.minLayer),
    maxLayer: Math.min(a.maxLayer, b.maxLayer),
    libraryVersions: call.version === undefined ? [] : [call.version],
  });
}

/** What the callee is told of a new call. */
export function requestedView(call: ServerCall): Api.PhoneCallRequested {
  return new Api.PhoneCallRequested({ ...header(call), gAHash: call.gAHash, protocol: protocolObject(call.adminProtocol) });
}

export function waitingView(call: ServerCall, viewer: bigint): Api.PhoneCallWaiting {
  const protocol = viewer === call.adminId ? call.adminProtocol : (call.participantProtocol ?? call.adminProtocol);
  return new Api.PhoneCallWaiting({
    ...header(call),
    protocol: protocolObject(protocol),
    ...(call.receiveDate === undefined ? {} : { receiveDate: call.receiveDate }),
  });
}

/** What the caller is told when the callee accepted (g_b). */
export function acceptedView(call: ServerCall): Api.PhoneCallAccepted {
  return new Api.PhoneCallAccepted({ ...header(call), gB: call.gB!, protocol: negotiatedProtocol(call) });
}

export function phoneCallView(call: ServerCall, viewer: bigint, settings: CallSettings): Api.PhoneCall {
  const custom = settings.customParameters;
  const json = custom === undefined ? undefined : typeof custom === 'string' ? custom : JSON.stringify(custom);
  return new Api.PhoneCall({
    ...header(call),
    p2pAllowed: settings.p2pAllowed ?? true,
    // The caller learns g_b, the callee g_a (§2.4 steps 5–6).
    gAOrB: viewer === call.adminId ? call.gB! : call.gA!,
    keyFingerprint: toLong(call.keyFingerprint ?? 0n),
    protocol: negotiatedProtocol(call),
    connections: (settings.connections ?? []).map((c, i) => connectionObject(c, i)),
    startDate: call.startDate ?? call.date,
    ...(json === undefined ? {} : { customParameters: new Api.DataJSON({ data: json }) }),
  });
}

export function connectionObject(c: FakeConnection, index: number): Api.TypePhoneConnection {
  const id = toLong(c.id ?? BigInt(index + 1));
  if (c.kind === 'webrtc') {
    return new Api.PhoneConnectionWebrtc({
      turn: c.turn ?? false,
      stun: c.stun ?? false,
      id,
      ip: c.ip,
      ipv6: c.ipv6 ?? '',
      port: c.port,
      username: c.username ?? '',
      password: c.password ?? '',
    });
  }
  return new Api.PhoneConnection({ tcp: c.tcp ?? false, id, ip: c.ip, ipv6: c.ipv6 ?? '', port: c.port, peerTag: Buffer.from(c.peerTag) });
}

export function discardedView(call: ServerCall): Api.PhoneCallDiscarded {
  return new Api.PhoneCallDiscarded({
    needRating: call.needRating,
    needDebug: call.needDebug,
    video: call.video,
    id: toLong(call.id),
    reason: reasonObject(call.discardReason ?? 'hangup', call.migrationSlug),
    duration: call.duration ?? 0,
  });
}

/** `phone.phoneCall`: a call object plus both users, as the results of requestCall/acceptCall/confirmCall. */
export function phoneCallResult(phoneCall: Api.TypePhoneCall, users: readonly ServiceUser[]): Api.phone.PhoneCall {
  return new Api.phone.PhoneCall({
    phoneCall,
    users: users.map((u) => new Api.User({ id: toLong(u.id), accessHash: toLong(u.accessHash), firstName: u.name })),
  });
}

export function reasonObject(reason: DiscardReason, slug?: string): Api.TypePhoneCallDiscardReason {
  if (reason === 'migrate' && slug !== undefined) {
    // Layer 202, beyond GramJS 2.26's schema: migrate-reason.ts.
    registerMigrateReason();
    return new FakeMigrateConferenceCallReason({ slug }) as unknown as Api.TypePhoneCallDiscardReason;
  }
  switch (reason) {
    case 'missed':
      return new Api.PhoneCallDiscardReasonMissed();
    case 'busy':
      return new Api.PhoneCallDiscardReasonBusy();
    case 'disconnect':
    case 'migrate':
      return new Api.PhoneCallDiscardReasonDisconnect();
    case 'hangup':
      return new Api.PhoneCallDiscardReasonHangup();
  }
}

/** The call timeouts of `help.getConfig`, in ms (`call_*_timeout_ms`). */
export interface FakeCallConfig {
  readonly callReceiveTimeoutMs: number;
  readonly callRingTimeoutMs: number;
  readonly callConnectTimeoutMs: number;
  readonly callPacketTimeoutMs: number;
  /** How long the config stays valid (`expires` = now + this), seconds. */
  readonly expiresInSeconds: number;
}

/**
 * `help.getConfig`'s answer: the call timeouts as given, the other fields with the values a
 * production config dump carries (they are not read by tgcall).
 */
export function configView(c: FakeCallConfig, nowSeconds: number): Api.Config {
  return new Api.Config({
    date: nowSeconds,
    expires: nowSeconds + c.expiresInSeconds,
    testMode: false,
    thisDc: 2,
    dcOptions: [],
    dcTxtDomainName: '_',
    chatSizeMax: 200,
    megagroupSizeMax: 200_000,
    forwardedCountMax: 100,
    onlineUpdatePeriodMs: 210_000,
    offlineBlurTimeoutMs: 5_000,
    offlineIdleTimeoutMs: 30_000,
    onlineCloudTimeoutMs: 300_000,
    notifyCloudDelayMs: 30_000,
    notifyDefaultDelayMs: 1_500,
    pushChatPeriodMs: 60_000,
    pushChatLimit: 2,
    editTimeLimit: 172_800,
    revokeTimeLimit: 2_147_483_647,
    revokePmTimeLimit: 2_147_483_647,
    ratingEDecay: 2_419_200,
    stickersRecentLimit: 200,
    channelsReadMediaPeriod: 604_800,
    callReceiveTimeoutMs: c.callReceiveTimeoutMs,
    callRingTimeoutMs: c.callRingTimeoutMs,
    callConnectTimeoutMs: c.callConnectTimeoutMs,
    callPacketTimeoutMs: c.callPacketTimeoutMs,
    meUrlPrefix: 'https://t.me/',
    captionLengthMax: 1_024,
    messageLengthMax: 4_096,
    webfileDcId: 4,
  });
}
