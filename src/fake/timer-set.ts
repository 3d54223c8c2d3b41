/** The fake's timers, all owned in one place so `close()` can release every one of them. */
export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  get size(): number {
    return this.timers.size;
  }

  /** Runs `fn` after `ms`; ignored once closed. Returns a cancel function. */
  set(fn: () => void, ms: number): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
