/**
 * Which signaling framing a negotiated library version uses (call-crypto-and-signaling.md §5.1),
 * and which versions this library advertises: only those that work end to end.
 */
import { CallSignalingError, CryptoError } from '../errors.js';
import { AckedSignalingChannel } from './acked-signaling-channel.js';
import { RawSignalingChannel } from './raw-signaling-channel.js';
import type { SignalingChannel } from './signaling-channel.js';

/**
 * Advertised in phoneCallProtocol.library_versions by default: 8.0.0 only. It means V2 signaling
 * over ICE + DTLS in every official client since 2022-05; 9.0.0 does not (official-clients.md §1):
 * one iOS build runs 9.0.0 calls over a reflector with no ICE and no DTLS, and official builds of
 * 2022-05..2023-04 treat 9.0.0 as V3 (SCTP) signaling. ntgcalls always settles on 8.0.0 too.
 * A server that returns 9.0.0 anyway is still followed (see `AMBIGUOUS_LIBRARY_VERSIONS`).
 */
export const SUPPORTED_LIBRARY_VERSIONS: readonly string[] = Object.freeze(['8.0.0']);

/**
 * Versions whose meaning differs between official builds (official-clients.md §1). We run one when
 * the server chooses it, even unadvertised (as V2, what current tgcalls maps it to), and the call
 * logs a warning: if it fails, the peer may be one of the builds that read it otherwise.
 */
export const AMBIGUOUS_LIBRARY_VERSIONS: readonly string[] = Object.freeze(['9.0.0']);

/** Whether a call may run on the `chosen` version, given what we advertised. */
export function isAcceptableVersion(chosen: string | undefined, advertised: readonly string[]): chosen is string {
  if (chosen === undefined || signalingModeForVersion(chosen) === undefined) return false;
  return advertised.includes(chosen) || AMBIGUOUS_LIBRARY_VERSIONS.includes(chosen);
}

/**
 * Every version this library can run, for the `libraryVersions` option: V2 (8.0.0, 9.0.0), V3
 * (12.0.0, 13.0.0: SCTP-carried, gzip'd raw framing, §5.4/§5.5) and the raw 7.0.0.
 */
export const KNOWN_LIBRARY_VERSIONS: readonly string[] = Object.freeze(['13.0.0', '12.0.0', '9.0.0', '8.0.0', '7.0.0']);

/** acked = §5.3; raw = §5.2 without compression (7.0.0); v3 = §5.2 with gzip (§5.5), carried by SCTP (§5.4). */
export type SignalingMode = 'acked' | 'raw' | 'v3';

export function signalingModeForVersion(version: string): SignalingMode | undefined {
  switch (version) {
    case '8.0.0':
    case '9.0.0':
      return 'acked';
    case '7.0.0':
      return 'raw';
    // android-tgcalls InstanceV2Impl @c84801762: "12.0.0"/"13.0.0" -> SignalingProtocolVersion::V3.
    case '12.0.0':
    case '13.0.0':
      return 'v3';
    default:
      return undefined;
  }
}

/**
 * The framing a call runs: the version's, unless the server's `custom_parameters` carry
 * `"network_kcp_experiment": true`, which makes the official Android engine run V3 whatever the
 * version (android-tgcalls `v2/InstanceV2Impl.cpp` constructor @c84801762; like every
 * `getCustomParameterBool` key only a JSON `true` counts, `v2/CustomParameters.h`). Its carrier is
 * still SCTP unless `network_signaling_nosctp` (`start()`): the name is historical, no KCP is used.
 */
export function signalingModeFor(version: string, customParameters: Readonly<Record<string, unknown>> | undefined): SignalingMode | undefined {
  const mode = signalingModeForVersion(version);
  if (mode !== undefined && customParameters?.['network_kcp_experiment'] === true) return 'v3';
  return mode;
}

export function createSignalingChannel(
  version: string,
  key: Uint8Array,
  isOutgoing: boolean,
  customParameters?: Readonly<Record<string, unknown>>,
): SignalingChannel {
  const mode = signalingModeFor(version, customParameters);
  if (mode === 'acked') return new AckedSignalingChannel({ key, isOutgoing });
  if (mode === 'raw') return new RawSignalingChannel({ key, isOutgoing });
  if (mode === 'v3') return new RawSignalingChannel({ key, isOutgoing, compress: true, maxPacketSize: V3_MAX_PACKET_SIZE });
  throw new CryptoError('UNSUPPORTED_VERSION', `library version ${version} is not supported`);
}

/** Peers refuse larger encrypted packets (tgcalls kMaxIncomingPacketSize, §4.6). */
export const V3_MAX_PACKET_SIZE = 128 * 1024;

/**
 * Checks a `libraryVersions` option: a non-empty list of distinct known versions, preferred first.
 * Throws `CallSignalingError` (`INVALID_LIBRARY_VERSIONS`, or `UNSUPPORTED_VERSION` naming the
 * unknown entry).
 */
export function validateLibraryVersions(versions: unknown): readonly string[] {
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > KNOWN_LIBRARY_VERSIONS.length) {
    throw new CallSignalingError('INVALID_LIBRARY_VERSIONS', `libraryVersions must be a non-empty list of at most ${KNOWN_LIBRARY_VERSIONS.length} versions`);
  }
  for (const v of versions) {
    if (typeof v !== 'string' || !KNOWN_LIBRARY_VERSIONS.includes(v)) {
      throw new CallSignalingError('UNSUPPORTED_VERSION', `library version ${String(v)} is not supported (known: ${KNOWN_LIBRARY_VERSIONS.join(', ')})`);
    }
  }
  if (new Set(versions).size !== versions.length) throw new CallSignalingError('INVALID_LIBRARY_VERSIONS', 'libraryVersions lists a version twice');
  return Object.freeze([...(versions as string[])]);
}
