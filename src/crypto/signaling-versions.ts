/**
 * Which signaling framing a negotiated library version uses (call-crypto-and-signaling.md §5.1),
 * and which versions this library advertises: only those that work end to end.
 */
import { CryptoError } from '../errors.js';
import { AckedSignalingChannel } from './acked-signaling-channel.js';
import { RawSignalingChannel } from './raw-signaling-channel.js';
import type { SignalingChannel } from './signaling-channel.js';

/** Advertised in phoneCallProtocol.library_versions, preferred first. */
export const SUPPORTED_LIBRARY_VERSIONS: readonly string[] = Object.freeze(['9.0.0', '8.0.0']);

export function signalingModeForVersion(version: string): 'acked' | 'raw' | undefined {
  switch (version) {
    case '8.0.0':
    case '9.0.0':
      return 'acked';
    case '7.0.0':
      return 'raw';
    default:
      return undefined;
  }
}

export function createSignalingChannel(version: string, key: Uint8Array, isOutgoing: boolean): SignalingChannel {
  const mode = signalingModeForVersion(version);
  if (mode === 'acked') return new AckedSignalingChannel({ key, isOutgoing });
  if (mode === 'raw') return new RawSignalingChannel({ key, isOutgoing });
  throw new CryptoError('UNSUPPORTED_VERSION', `library version ${version} is not supported`);
}
