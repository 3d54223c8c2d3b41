/**
 * The one timer of a media session. Deadline-driven: each run asks the callback for the next
 * absolute deadline and sleeps until then, so lateness of one timer never accumulates (no
 * setInterval drift). The timer is not unref'd — a running call keeps the process alive — and
 * `stop()` releases it.
 */
export class Pacer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /**
   * @param now the clock (ms)
   * @param onTick called at (or just after) each deadline; returns the next deadline (Infinity: idle)
   * @param onError receives anything `onTick` throws; the pacer keeps running
   */
  constructor(
    private readonly now: () => number,
    private readonly onTick: (nowMs: number) => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(firstDeadline: number): void {
    if (this.running) return;
    this.running = true;
    this.schedule(firstDeadline);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(deadline: number): void {
    if (!this.running || !Number.isFinite(deadline)) return;
    const delay = Math.max(0, Math.ceil(deadline - this.now()));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.running) return;
    let next = Infinity;
    try {
      next = this.onTick(this.now());
    } catch (err) {
      this.onError(err);
      next = this.now() + 20; // keep the clock alive; the owner decides whether to close
    }
    this.schedule(next);
  }
}
