import { describe, expect, it } from 'vitest';
import { CallSignalingError, CryptoError, TgCallError, type TgCallErrorCode } from '../src/errors.js';
import { rpcFailureError } from '../src/signaling/index.js';
import { fakeRpcError } from '../src/fake/index.js';

describe('error codes', () => {
  it('are a closed union per class: a misspelt code does not compile (checked by tsc)', () => {
    // @ts-expect-error 'CAL_ENDED' is not a CallSignalingError code
    const typo = new CallSignalingError('CAL_ENDED', 'x');
    // @ts-expect-error a CallSignalingError code is not a CryptoError code
    const wrongClass = new CryptoError('CALL_ENDED', 'x');
    const code: TgCallErrorCode = new CryptoError('BAD_KEY', 'x').code;
    expect([typo.code, wrongClass.code, code]).toEqual(['CAL_ENDED', 'CALL_ENDED', 'BAD_KEY']);
  });

  it('carry Telegram RPC error types through, listed or not', () => {
    const listed = rpcFailureError(fakeRpcError('USER_PRIVACY_RESTRICTED', 403), 'phone.requestCall');
    expect(listed).toBeInstanceOf(CallSignalingError);
    expect(listed.code === 'USER_PRIVACY_RESTRICTED').toBe(true);
    const unlisted = rpcFailureError(fakeRpcError('PARTICIPANT_VERSION_OUTDATED', 400), 'phone.requestCall');
    expect(unlisted.code).toBe('PARTICIPANT_VERSION_OUTDATED');
    expect(unlisted).toBeInstanceOf(TgCallError);
  });
});
