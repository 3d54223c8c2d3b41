/**
 * Once per process, in the background: the one-time native and WebAssembly setup that the first
 * call would otherwise pay on its path (libdatachannel's global initialisation when the first peer
 * connection is created, the libopus module when the first call's audio session is built). Each
 * step runs in its own macrotask, so none holds the event loop for more than one step (≈ 10-15
 * ms), and its timer is unref'd: it never keeps the process alive. A call that starts first just
 * does the same work itself.
 */
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { preloadOpus } from '../media/index.js';
import { preloadPeerConnections } from '../transport/index.js';

const STEPS: readonly (readonly [string, () => void])[] = [
  ['webrtc', preloadPeerConnections],
  ['opus', preloadOpus],
];

let scheduled = false;

export function warmUpCallRuntime(log: Logger): void {
  if (scheduled) return;
  scheduled = true;
  const run = (index: number): void => {
    const step = STEPS[index];
    if (!step) return;
    setTimeout(() => {
      const [name, fn] = step;
      try {
        fn();
      } catch (err) {
        // The call that needs it will fail with the proper error; nothing to do here.
        log.debug('warm-up step failed', { step: name, error: toError(err).message });
      }
      run(index + 1);
    }, 0).unref();
  };
  run(0);
}
