/**
 * One timer for the earliest due time a worker has heard of: later due times do not
 * move it, earlier ones do, and `inMs < 0` (nothing delayed, or the queue paused) leaves
 * it as it is. When it fires, `onDue` claims (which first moves due jobs to waiting).
 */
export class DueTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private at = Number.POSITIVE_INFINITY;

  constructor(private readonly onDue: () => void) {}

  /** Fires in `inMs` unless it fires earlier already. */
  arm(inMs: number): void {
    if (inMs < 0) return;
    const at = Date.now() + inMs;
    if (this.timer !== undefined && at >= this.at) return;
    clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.at = Number.POSITIVE_INFINITY;
      this.onDue();
    }, Math.max(inMs, 1));
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }
}
