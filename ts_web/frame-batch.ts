/**
 * Calls `callback` once at the next animation frame however often `request()` is called
 * before it, so that many events between two frames cause one host update. Where there
 * are no animation frames (Node, some workers) a 16 ms timeout stands in for one.
 */
export class FrameBatch {
  private handle: number | undefined;
  private handleIsTimeout = false;

  constructor(private readonly callback: () => void) {}

  /** Asks for one call at the next frame (nothing more if one is already asked for). */
  request(): void {
    if (this.handle !== undefined) return;
    if (typeof requestAnimationFrame === 'function') {
      this.handleIsTimeout = false;
      this.handle = requestAnimationFrame(() => this.run());
    } else {
      this.handleIsTimeout = true;
      this.handle = setTimeout(() => this.run(), 16) as unknown as number;
    }
  }

  /** Drops the call asked for, if any. */
  cancel(): void {
    if (this.handle === undefined) return;
    if (this.handleIsTimeout) clearTimeout(this.handle);
    else cancelAnimationFrame(this.handle);
    this.handle = undefined;
  }

  private run(): void {
    // Cleared first: the callback may ask for the next frame.
    this.handle = undefined;
    this.callback();
  }
}
