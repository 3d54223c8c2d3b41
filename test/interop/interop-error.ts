/**
 * Failures of the interop harness itself (a peer process that exited or timed out, a refused
 * fake-server request). Not a `TgCallError`: its codes are the harness's own, outside the
 * library's `TgCallErrorCode`.
 */
export class InteropError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'InteropError';
  }
}
