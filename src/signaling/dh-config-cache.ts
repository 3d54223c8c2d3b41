/**
 * The cached `messages.getDhConfig` answer (call-crypto-and-signaling.md §2.1): p/g/version are
 * cached once validated; the 256-byte server random is fresh for every key generation and a reply
 * whose random is not exactly 256 bytes is refused (tdesktop `Instance::updateDhConfig`).
 */
import { CryptoError } from '../errors.js';
import { validateDhConfig, type DhParams } from '../crypto/dh-config.js';
import { DH_SECRET_SIZE } from '../crypto/dh.js';
import type { DhConfigRecord } from './phone-call-record.js';

export const DH_RANDOM_LENGTH = DH_SECRET_SIZE;

export interface FreshDhConfig {
  readonly params: DhParams;
  /** The 256 server bytes mixed into the secret. */
  readonly random: Uint8Array;
}

export class DhConfigCache {
  private version = 0;
  private params: DhParams | undefined;

  /** Arguments for `messages.getDhConfig`: our cached version (0 when none) and 256 random bytes. */
  requestArgs(): { version: number; randomLength: number } {
    return { version: this.params ? this.version : 0, randomLength: DH_RANDOM_LENGTH };
  }

  /** Validates a reply and returns the group plus its fresh random. Throws `CryptoError`. */
  apply(record: DhConfigRecord): FreshDhConfig {
    if (record.random.length !== DH_RANDOM_LENGTH) {
      throw new CryptoError('DH_BAD_RANDOM', `server random must be ${DH_RANDOM_LENGTH} bytes, got ${record.random.length}`);
    }
    if (record.kind === 'not-modified') {
      if (!this.params) throw new CryptoError('DH_CONFIG_MISSING', 'dhConfigNotModified without a cached configuration');
      return { params: this.params, random: record.random };
    }
    // Validation throws DH_BAD_PRIME / DH_BAD_GENERATOR; only a valid group is cached.
    const params = validateDhConfig(record.g, record.p);
    this.params = params;
    this.version = record.version;
    return { params, random: record.random };
  }
}
