/** rpc-failure.ts: what GramJS rejects with, classified. */
import { describe, expect, it } from 'vitest';
import { errors } from 'telegram';
import { fakeFloodWait, fakeRpcError } from '../../src/fake/index.js';
import { classifyRpcFailure } from '../../src/signaling/index.js';

describe('RPC failures', () => {
  it('classifies GramJS errors', () => {
    expect(classifyRpcFailure(fakeFloodWait(3))).toEqual({ kind: 'flood', waitMs: 3000 });
    expect(classifyRpcFailure(fakeRpcError('FLOOD_WAIT_7', 420))).toEqual({ kind: 'flood', waitMs: 7000 });
    expect(classifyRpcFailure(fakeRpcError('FLOOD_PREMIUM_WAIT_2', 420))).toEqual({ kind: 'flood', waitMs: 2000 });
    expect(classifyRpcFailure(new errors.RPCError('CALL_PEER_INVALID', undefined as never, 400))).toEqual({
      kind: 'rpc',
      type: 'CALL_PEER_INVALID',
      code: 400,
    });
    expect(classifyRpcFailure(new Error('Cannot send requests while disconnected'))).toMatchObject({ kind: 'network' });
    expect(classifyRpcFailure('weird')).toMatchObject({ kind: 'network' });
  });
});
