/**
 * The parts of werift-sctp (pinned at exactly 0.0.11) that the carrier touches. Some are fields
 * its typings mark private: they are the only way to bound it (receive window, streams, initial
 * RTO) and to read the state the admission policy needs. `checkWeriftSctp` verifies at creation
 * that they exist with the expected types, so an upgrade that renames them fails loudly instead of
 * silently losing a bound; test/carrier/sctp-carrier.test.ts runs the same check. werift-sctp
 * requires `debug` without declaring it, so package.json pins `debug` (4.4.3) for it. Licenses:
 * werift-sctp MIT (package.json), its @shinyoshiaki/jspack 0.0.6 BSD-style (Fair Oaks Labs), debug MIT.
 */
import { SCTP, SCTP_STATE, type Transport } from 'werift-sctp';
import { TransportError } from '../errors.js';

export { SCTP_STATE };

/** werift's SCTP instance as the carrier sees it. */
export interface WeriftAssociation {
  /** Seconds. The initial value is used by T1 (INIT, COOKIE-ECHO) and T3 until an RTT sample. */
  rto: number;
  /** Bytes; advertised in INIT/INIT-ACK and SACKs, lowered by DATA held for reassembly. */
  advertisedRwnd: number;
  /** Whether we offer PR-SCTP (FORWARD-TSN) in INIT/INIT-ACK. */
  localPartialReliability: boolean;
  _inboundStreamsMax: number;
  _outboundStreamsCount: number;
  /** Seconds between heartbeats on an idle association. */
  heartbeatInterval: number;
  /** Undefined until INIT/INIT-ACK. */
  readonly lastReceivedTsn: number | undefined;
  readonly localTsn: number;
  readonly associationState: SCTP_STATE;
  readonly outboundQueue: readonly unknown[];
  readonly sentQueue: readonly unknown[];
  readonly stateChanged: { readonly connected: WeriftEvent; readonly closed: WeriftEvent };
  readonly onReceive: { subscribe(fn: (streamId: number, ppid: number, data: Buffer) => void): unknown };
  handleData(data: Buffer): Promise<void>;
  start(remotePort: number): Promise<void>;
  send(streamId: number, ppid: number, data: Buffer, options: { ordered: boolean }): Promise<void>;
  stop(): Promise<void>;
}

interface WeriftEvent {
  subscribe(fn: () => void): unknown;
}

const NUMBER_FIELDS = ['rto', 'advertisedRwnd', '_inboundStreamsMax', '_outboundStreamsCount', 'heartbeatInterval', 'localTsn'] as const;
const FUNCTION_FIELDS = ['handleData', 'start', 'send', 'stop'] as const;

/** Creates werift's association over `transport`; throws `TransportError` if its internals moved. */
export function createWeriftAssociation(role: 'client' | 'server', transport: Transport, port: number): WeriftAssociation {
  const sctp = role === 'client' ? SCTP.client(transport, port) : SCTP.server(transport, port);
  checkWeriftSctp(sctp);
  return sctp as unknown as WeriftAssociation;
}

export function checkWeriftSctp(value: unknown): void {
  const o = value as Record<string, unknown>;
  const bad =
    NUMBER_FIELDS.find((f) => typeof o[f] !== 'number') ??
    FUNCTION_FIELDS.find((f) => typeof o[f] !== 'function') ??
    (typeof o.localPartialReliability !== 'boolean' ? 'localPartialReliability' : undefined) ??
    (!Array.isArray(o.outboundQueue) || !Array.isArray(o.sentQueue) ? 'outboundQueue/sentQueue' : undefined);
  if (bad) throw new TransportError('SCTP_UNAVAILABLE', `werift-sctp does not have the expected field ${bad} (version pinned at 0.0.11)`);
}
