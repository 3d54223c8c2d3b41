/**
 * The one guarded emit of the library. Events reach application code from native callbacks,
 * timers and update handlers, where an exception would crash the process or skip the work still
 * due (the other listeners, the other sessions of a shared timer). So every emitter outside
 * src/transport emits through here, with one behaviour:
 *
 * - each listener runs in its own try, so a throwing listener never keeps the next one from
 *   running (a plain `emit()` stops at the first throw);
 * - what a listener throws is logged and then forwarded to the emitter's `'error'` listeners,
 *   when it has any (a throwing `'error'` listener is only logged: no loop);
 * - an `'error'` nobody listens to is dropped, never thrown (a plain `emit('error')` throws);
 * - a throwing logger is ignored.
 */
import type { EventEmitter } from 'node:events';
import { toError } from './errors.js';
import type { Logger } from './logger.js';

type AnyListener = (...args: unknown[]) => unknown;

/** Emits `event` on `emitter` with the behaviour above. Never throws. */
export function safeEmit<Events extends Record<keyof Events, unknown[]>, K extends keyof Events & string>(
  emitter: EventEmitter<Events>,
  log: Logger,
  event: K,
  ...args: Events[K]
): void {
  emitGuarded(emitter as unknown as EventEmitter, log, event, args);
}

/**
 * Calls one listener of a plain listener set (not an EventEmitter: `FakeClient`, the GramJS
 * update callback) with the same isolation: what it throws is logged, never rethrown.
 */
export function callListener<A extends unknown[]>(listener: (...args: A) => unknown, args: A, log: Logger, what: string): void {
  try {
    listener(...args);
  } catch (err) {
    quietLog(log, `${what} threw`, err);
  }
}

function emitGuarded(emitter: EventEmitter, log: Logger, event: string, args: unknown[]): void {
  let listeners: AnyListener[];
  try {
    // rawListeners: `once` wrappers included, which remove themselves when called.
    listeners = emitter.rawListeners(event) as AnyListener[];
  } catch (err) {
    quietLog(log, `cannot read the '${event}' listeners`, err);
    return;
  }
  for (const listener of listeners) {
    try {
      Reflect.apply(listener, emitter, args);
    } catch (err) {
      quietLog(log, `a '${event}' listener threw`, err);
      if (event !== 'error' && hasErrorListener(emitter)) emitGuarded(emitter, log, 'error', [toError(err)]);
    }
  }
}

function hasErrorListener(emitter: EventEmitter): boolean {
  try {
    return emitter.listenerCount('error') > 0;
  } catch {
    return false;
  }
}

function quietLog(log: Logger, message: string, err: unknown): void {
  try {
    log.error(message, { error: toError(err).message });
  } catch {
    // The logger failed too: nothing safe is left to report to.
  }
}
