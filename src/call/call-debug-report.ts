/**
 * What tgcall sends with phone.saveCallDebug when the server asks for it (`need_debug` on
 * phoneCallDiscarded; tdesktop sends its engine's debug log then, calls_call.cpp, official-clients.md
 * §5). The server takes any JSON (DataJSON); ours is a summary of `getStats()`.
 *
 * Built by allow-list: only the counters named below go out. Never the key, the key fingerprint or
 * its inputs, the emoji, ICE credentials, addresses of either side or of relays, nor any signaling
 * content. The `format` number changes when fields change meaning.
 */
import type { CallEndInfo } from '../signaling/index.js';
import type { CallStats } from './call.js';

export const CALL_DEBUG_FORMAT = 1;

export function callDebugReport(stats: CallStats, end: CallEndInfo): Record<string, unknown> {
  const connection = stats.connection;
  const path = connection?.path;
  const { sent, received, rtcp } = stats.media;
  return {
    library: 'tgcall',
    format: CALL_DEBUG_FORMAT,
    libraryVersion: stats.version ?? null,
    direction: stats.direction,
    end: { reason: end.reason, by: end.by, durationS: end.duration, error: end.error?.code ?? null },
    connectMs: stats.connectMs === undefined ? null : Math.round(stats.connectMs),
    // The kind of route only: no address of ours, the peer's or a relay's.
    path: path ? { kind: path.kind, local: path.local, remoteType: path.remoteType } : null,
    signaling: connection
      ? {
          carrier: connection.signalingCarrier.kind,
          blobsOut: connection.signalingCarrier.blobsOut,
          blobsIn: connection.signalingCarrier.blobsIn,
        }
      : null,
    media: {
      sent: { packets: sent.packets, bytes: sent.bytes, bitrateBps: sent.bitrateBps, mutedFrames: sent.mutedFrames },
      received: {
        packets: received.packets,
        bytes: received.bytes,
        lost: received.lost,
        late: received.late,
        duplicated: received.duplicated,
        concealedFrames: received.concealedFrames,
        plcMs: received.plcMs,
        fecMs: received.fecMs,
        jitterMs: round1(received.jitterMs),
        targetDelayMs: round1(received.targetDelayMs),
      },
      rtcp: { rttMs: rtcp.rttMs ?? null, remoteFractionLost: rtcp.remoteFractionLost ?? null },
    },
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
