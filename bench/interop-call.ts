/**
 * tgcall's side of one bench call with ntgcalls (bench/interop.ts, bench/interop-impaired.ts):
 * tgcall places it, or ntgcalls places it and tgcall answers. `keysAt()` is when tgcall's keys were
 * agreed (its `emoji`), the start of the connect time both benches report.
 */
import type { Call, TelegramCalls } from '../src/index.js';
import type { NtgcallsPhone } from '../test/interop/ntgcalls-phone.js';

export interface OpenedCall {
  readonly call: Call;
  /** performance.now() at tgcall's `emoji` (0 until then). */
  keysAt(): number;
}

export async function openTgcallCall(tg: TelegramCalls, phone: NtgcallsPhone, tgcallRole: 'caller' | 'callee', us: bigint, them: bigint): Promise<OpenedCall> {
  let call: Call;
  if (tgcallRole === 'caller') {
    call = await tg.call(them);
  } else {
    const incoming = new Promise<Call>((resolve) => tg.once('incoming', resolve));
    await phone.placeCall(us, undefined);
    call = await incoming;
    void call.accept().catch(() => undefined);
  }
  let keysAt = 0;
  call.once('emoji', () => {
    keysAt = performance.now();
  });
  return { call, keysAt: () => keysAt };
}
