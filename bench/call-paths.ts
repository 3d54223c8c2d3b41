/**
 * The two paths bench/call.ts measures each row over (issue 12), as the fake Telegram's settings.
 * Its own module: bench/call-child.ts runs its task at import.
 */
import type { FakeTelegramOptions } from '../src/fake/index.js';

/** host = p2p allowed, direct on loopback; reflector = p2p off, through a fake reflector in its own process (issue 12). */
export type PathKind = 'host' | 'reflector';

/** The fake's settings for a path: host = p2p on, no server; reflector = p2p off, one reflector entry per call. */
export function pathSettings(path: PathKind, reflectorPort: number | undefined): FakeTelegramOptions {
  if (path === 'host') return {};
  return {
    p2pAllowed: false,
    // One peer tag per call (from its id), as the server gives each call its own.
    callSettings: ({ call }) => {
      const tag = Buffer.alloc(16);
      tag.writeBigInt64BE(call.id, 0);
      tag.writeBigInt64BE(call.accessHash, 8);
      return { connections: [{ kind: 'reflector', id: 1000n, ip: '127.0.0.1', port: reflectorPort!, peerTag: tag }] };
    },
  };
}
