/**
 * The long-term credential mechanism (RFC 8489 §9.2) for one TURN client: the realm and nonce
 * the server's 401/438 challenges give, the key derived from them with our username and password,
 * and the USERNAME/REALM/NONCE every authenticated request carries. It is apart from
 * turn-client.ts because it is STUN's authentication, not TURN's allocation: the client asks it
 * to sign a request and whether a challenge is worth another try.
 */
import { StunAttr, attributeValue, decodeText, encodeText, longTermKey, type StunAttributeInit, type StunMessage } from './stun.js';

/** Retries of one request after 438 Stale Nonce (RFC 8489 §9.2.5 allows retrying; bound it). */
const MAX_NONCE_RETRIES = 3;

export class TurnCredentials {
  private realm: string | undefined;
  private nonce: string | undefined;
  private keyValue: Uint8Array | undefined;

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  /** The MESSAGE-INTEGRITY key, once a challenge gave a realm. */
  get key(): Uint8Array | undefined {
    return this.keyValue;
  }

  /** Adds USERNAME, REALM and NONCE to `attributes` when we have a key; returns that key (undefined: an unauthenticated request). */
  sign(attributes: StunAttributeInit[]): Uint8Array | undefined {
    const key = this.keyValue;
    if (key) {
      attributes.push(
        { type: StunAttr.USERNAME, value: encodeText(this.username) },
        { type: StunAttr.REALM, value: encodeText(this.realm!) },
        { type: StunAttr.NONCE, value: encodeText(this.nonce!) },
      );
    }
    return key;
  }

  /**
   * Updates realm/nonce/key from a 401 or 438 to a request (`authenticated`: it carried
   * credentials; `retries`: 438 retries so far); true when the request should be sent again.
   */
  takeChallenge(message: StunMessage, code: number, authenticated: boolean, retries: number): boolean {
    const nonce = attributeValue(message, StunAttr.NONCE);
    const realm = attributeValue(message, StunAttr.REALM);
    if (!nonce || nonce.length > 763) return false;
    // 401 is retried once, and only for a request that had no credentials: a 401 to an
    // authenticated request means the credentials are wrong ("401 twice").
    if (code === 401 && (authenticated || !realm || realm.length > 763)) return false;
    if (code === 438 && retries >= MAX_NONCE_RETRIES) return false;
    this.nonce = decodeText(nonce);
    if (realm && realm.length <= 763) {
      const text = decodeText(realm);
      if (text !== this.realm || !this.keyValue) {
        this.realm = text;
        this.keyValue = longTermKey(this.username, text, this.password);
      }
    }
    return this.keyValue !== undefined;
  }
}
