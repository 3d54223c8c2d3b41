/**
 * The frame clock of a media session. Deadline-driven: each run asks the callback for the next
 * absolute deadline, so lateness of one run never accumulates (no setInterval drift).
 *
 * All pacers on the same clock function share one timer, which wakes for the earliest deadline
 * and runs every pacer due by then. Each wake-up of the process costs on the order of 0.1 ms of
 * CPU (measured on a 2-core VM: an empty 50 Hz timer alone takes ~7 ms CPU per second), so with
 * sessions started on a common frame grid (`frameGridStart`) a process wakes once per frame for
 * all its calls instead of once per call. Each pacer still computes its own deadlines, so there
 * is no drift. The shared timer is not unref'd — a running call keeps the process alive — and is
 * released when the last pacer stops.
 */

const TIME_ORIGIN = performance.timeOrigin; // fixed for the process; a getter call per read otherwise

/** Monotonic wall clock, ms: the default clock of media sessions (one function, so they share a timer). */
export const monotonicNow = (): number => TIME_ORIGIN + performance.now();

/** Period of the common frame grid, ms: the default frame duration, a multiple of every shorter one. */
export const FRAME_GRID_MS = 20;

/** The grid point at or before `nowMs`: a session started there has its deadlines on the grid. */
export function frameGridStart(nowMs: number): number {
  return Math.floor(nowMs / FRAME_GRID_MS) * FRAME_GRID_MS;
}

/**
 * How late the frame timer runs pacers in this process (ms past their deadline), as a histogram in
 * 0.25 ms steps up to 100 ms: one subtraction and one counter per run, for the benchmark and for
 * diagnosing an overloaded event loop.
 */
const LATENESS_STEP_MS = 0.25;
const latenessCounts = new Float64Array(401);

export interface FrameTimerLateness {
  readonly runs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Upper bound of the highest non-empty bucket (100 ms stands for "100 ms or more"). */
  readonly maxMs: number;
}

/** Lateness of every pacer run in this process since the last reset. */
export function frameTimerLateness(): FrameTimerLateness {
  let runs = 0;
  for (const c of latenessCounts) runs += c;
  const quantile = (q: number): number => {
    let seen = 0;
    for (let i = 0; i < latenessCounts.length; i += 1) {
      seen += latenessCounts[i]!;
      if (seen >= q * runs) return (i + 1) * LATENESS_STEP_MS;
    }
    return NaN;
  };
  let max = -1;
  for (let i = latenessCounts.length - 1; i >= 0 && max < 0; i -= 1) if (latenessCounts[i]! > 0) max = i;
  return { runs, p50Ms: runs ? quantile(0.5) : NaN, p99Ms: runs ? quantile(0.99) : NaN, maxMs: max < 0 ? NaN : (max + 1) * LATENESS_STEP_MS };
}

export function resetFrameTimerLateness(): void {
  latenessCounts.fill(0);
}

function recordLateness(ms: number): void {
  const i = ms <= 0 ? 0 : Math.min(latenessCounts.length - 1, Math.floor(ms / LATENESS_STEP_MS));
  latenessCounts[i]! += 1;
}

export class Pacer {
  /** Next deadline while running (Infinity: idle). Read by the shared timer. */
  deadline = Infinity;
  private running = false;
  private readonly timer: SharedTimer;

  /**
   * @param now the clock (ms)
   * @param onTick called at (or just after) each deadline; returns the next deadline (Infinity: idle)
   * @param onError receives anything `onTick` throws; the pacer keeps running. What `onError`
   *   throws itself is dropped: it runs on the shared timer, where it would skip the other
   *   sessions' ticks and escape as an uncaught exception.
   */
  constructor(
    private readonly now: () => number,
    private readonly onTick: (nowMs: number) => number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.timer = sharedTimer(now);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(firstDeadline: number): void {
    if (this.running) return;
    this.running = true;
    this.deadline = Number.isFinite(firstDeadline) ? firstDeadline : Infinity;
    this.timer.add(this);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.deadline = Infinity;
    this.timer.remove(this);
  }

  /** Runs the callback (the shared timer calls this once the deadline has passed). */
  run(): void {
    let next: number;
    try {
      const now = this.now();
      recordLateness(now - this.deadline);
      next = this.onTick(now);
    } catch (err) {
      try {
        this.onError(err);
      } catch {
        // The owner's error path failed too (a throwing listener or logger): nothing left to tell.
      }
      next = this.now() + FRAME_GRID_MS; // keep the clock alive; the owner decides whether to close
    }
    if (this.running) this.deadline = Number.isFinite(next) ? next : Infinity;
  }
}

/** One timer for every running pacer of a clock. */
class SharedTimer {
  private readonly pacers = new Set<Pacer>();
  /**
   * One Timeout, re-armed with `refresh()` while the delay repeats (it nearly always is the frame
   * period): no Timeout object, closure and timer-list entry to create per frame (measured: an
   * empty 50 Hz timer costs ~20 % less CPU re-armed this way than chained with setTimeout).
   */
  private timer: NodeJS.Timeout | undefined;
  private timerDelay = -1;
  private armed = false;
  private timerAt = Infinity;
  private firing = false;
  private readonly onTimer = (): void => this.fire();

  constructor(private readonly now: () => number) {}

  add(pacer: Pacer): void {
    this.pacers.add(pacer);
    if (!this.firing && pacer.deadline < this.timerAt) this.arm(pacer.deadline);
  }

  remove(pacer: Pacer): void {
    this.pacers.delete(pacer);
    if (this.pacers.size === 0) this.arm(Infinity);
  }

  private fire(): void {
    this.armed = false;
    this.timerAt = Infinity;
    this.firing = true;
    try {
      // A pacer started by another one's callback is visited too (Set iteration order), and
      // one stopped before its turn is skipped.
      for (const p of this.pacers) {
        if (p.deadline > this.now()) continue;
        try {
          p.run();
        } catch {
          // run() reports its own failures; this is the last guard, so that one session's
          // failure never skips the others' ticks or escapes the timer callback.
        }
      }
    } finally {
      // Re-armed whatever happened, so the other sessions keep their clock.
      this.firing = false;
      let next = Infinity;
      for (const p of this.pacers) if (p.deadline < next) next = p.deadline;
      this.arm(next);
    }
  }

  private arm(deadline: number): void {
    if (deadline === this.timerAt && this.armed) return;
    this.timerAt = deadline;
    if (!Number.isFinite(deadline)) {
      // Idle: nothing may keep the process alive (a cleared Timeout cannot be refreshed).
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armed = false;
      return;
    }
    // Node's timers count whole milliseconds of a loop clock whose phase differs from ours, so a
    // timer may fire up to 1 ms before `deadline`; the extra ms avoids a wake-up that finds
    // nothing due (measured: without it, about every other frame woke twice).
    const delay = Math.max(0, Math.ceil(deadline - this.now())) + 1;
    if (this.timer && delay === this.timerDelay) {
      this.timer.refresh(); // also re-arms a timer that has fired
    } else {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(this.onTimer, delay);
      this.timerDelay = delay;
    }
    this.armed = true;
  }
}

const timers = new WeakMap<() => number, SharedTimer>();

function sharedTimer(now: () => number): SharedTimer {
  let t = timers.get(now);
  if (!t) {
    t = new SharedTimer(now);
    timers.set(now, t);
  }
  return t;
}
