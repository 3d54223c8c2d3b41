/**
 * Turns the state machine's plain request descriptors into GramJS `Api` request objects (or those
 * of a fork with the same namespace shape). The only place that knows GramJS constructors.
 */
import type { Api } from 'telegram';
import type { CallRequest, InputCallRef } from './call-types.js';
import { toLong } from './long.js';
import type { ApiNamespace } from './mtproto.js';
import type { CallProtocolRecord, DiscardReason } from './phone-call-record.js';

function buf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function buildInputPhoneCall(api: ApiNamespace, ref: InputCallRef): Api.InputPhoneCall {
  return new api.InputPhoneCall({ id: toLong(ref.id), accessHash: toLong(ref.accessHash) });
}

export function buildProtocol(api: ApiNamespace, p: CallProtocolRecord): Api.PhoneCallProtocol {
  return new api.PhoneCallProtocol({
    udpP2p: p.udpP2p,
    udpReflector: p.udpReflector,
    minLayer: p.minLayer,
    maxLayer: p.maxLayer,
    libraryVersions: [...p.libraryVersions],
  });
}

export function buildDiscardReason(api: ApiNamespace, reason: DiscardReason): Api.TypePhoneCallDiscardReason {
  switch (reason) {
    case 'missed':
      return new api.PhoneCallDiscardReasonMissed();
    case 'busy':
      return new api.PhoneCallDiscardReasonBusy();
    case 'hangup':
      return new api.PhoneCallDiscardReasonHangup();
    case 'disconnect':
    case 'migrate':
      // We never migrate a call to a conference ourselves.
      return new api.PhoneCallDiscardReasonDisconnect();
  }
}

export function buildRequest(api: ApiNamespace, req: CallRequest): Api.AnyRequest {
  switch (req.method) {
    case 'getDhConfig':
      return new api.messages.GetDhConfig({ version: req.version, randomLength: req.randomLength });
    case 'requestCall':
      return new api.phone.RequestCall({
        video: req.video,
        // With an access hash we build the InputUser ourselves; without, GramJS resolves the id
        // from its entity cache (`Request.resolve`).
        userId:
          req.userAccessHash === undefined
            ? toLong(req.userId)
            : new api.InputUser({ userId: toLong(req.userId), accessHash: toLong(req.userAccessHash) }),
        randomId: req.randomId,
        gAHash: buf(req.gAHash),
        protocol: buildProtocol(api, req.protocol),
      });
    case 'receivedCall':
      return new api.phone.ReceivedCall({ peer: buildInputPhoneCall(api, req.peer) });
    case 'acceptCall':
      return new api.phone.AcceptCall({ peer: buildInputPhoneCall(api, req.peer), gB: buf(req.gB), protocol: buildProtocol(api, req.protocol) });
    case 'confirmCall':
      return new api.phone.ConfirmCall({
        peer: buildInputPhoneCall(api, req.peer),
        gA: buf(req.gA),
        keyFingerprint: toLong(req.keyFingerprint),
        protocol: buildProtocol(api, req.protocol),
      });
    case 'discardCall':
      return new api.phone.DiscardCall({
        video: req.video,
        peer: buildInputPhoneCall(api, req.peer),
        duration: req.duration,
        reason: buildDiscardReason(api, req.reason),
        connectionId: toLong(0n),
      });
  }
}
