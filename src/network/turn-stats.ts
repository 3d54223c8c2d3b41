/**
 * Counters of a TURN client: what it sent and received, and every drop by reason (EDGE.md: bad
 * input is a counted drop, never a throw).
 */
export interface TurnStats {
  readonly sent: { requests: number; retransmissions: number; sendIndications: number; channelData: number };
  readonly received: { dataIndications: number; channelData: number };
  readonly dropped: {
    unknownSource: number;
    malformed: number;
    unexpected: number;
    unknownTransaction: number;
    badFingerprint: number;
    badIntegrity: number;
    notAllocated: number;
    familyMismatch: number;
    badAddress: number;
    oversize: number;
    tooManyPeers: number;
    tooManyTransactions: number;
    queueFull: number;
    permissionFailed: number;
    unknownChannel: number;
    unpermittedPeer: number;
  };
  /** ChannelBind requests that failed (that peer stays on Send indications). */
  channelFailures: number;
  /** Requests sent again after 438 Stale Nonce. */
  staleNonceRetries: number;
}

export function newTurnStats(): TurnStats {
  return {
    sent: { requests: 0, retransmissions: 0, sendIndications: 0, channelData: 0 },
    received: { dataIndications: 0, channelData: 0 },
    dropped: {
      unknownSource: 0,
      malformed: 0,
      unexpected: 0,
      unknownTransaction: 0,
      badFingerprint: 0,
      badIntegrity: 0,
      notAllocated: 0,
      familyMismatch: 0,
      badAddress: 0,
      oversize: 0,
      tooManyPeers: 0,
      tooManyTransactions: 0,
      queueFull: 0,
      permissionFailed: 0,
      unknownChannel: 0,
      unpermittedPeer: 0,
    },
    channelFailures: 0,
    staleNonceRetries: 0,
  };
}
