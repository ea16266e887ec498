/**
 * A `refreshInterval` as the dashboard's controllers take it, in ms: `0` (or anything that
 * is not a positive number) turns polling off; anything else is at least 16 ms, about one
 * animation frame, so that a tiny value cannot keep the page busy.
 */
export function refreshIntervalMs(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.max(16, value) : 0;
}

/**
 * When a `PollLoop` reads again (the names are those of Java's `scheduleWithFixedDelay`
 * and `scheduleAtFixedRate`):
 * - `'fixed-delay'`: `intervalMs` after each read ends, so a slow source is read less
 *   often. Connecting, or a new interval, reads at once unless a read is on its way (its
 *   end times the next one).
 * - `'fixed-rate'`: on a beat every `intervalMs`; a beat that comes while a read is on its
 *   way is skipped. Connecting reads at once, or right after the read on its way; a new
 *   interval starts the beat over without reading.
 */
export type TPollCadence = 'fixed-delay' | 'fixed-rate';

/** Options of `new PollLoop(options)`. */
export interface IPollLoopOptions<TSource> {
  cadence: TPollCadence;
  /** The interval to start with, in ms (see `refreshIntervalMs`); `0` reads only when asked to. */
  intervalMs: number;
  /**
   * One read of `source`, which keeps what it read itself. It should not reject: a failure
   * is the reader's to show. `isCurrent()` turns false once another source is set; what
   * was read is then stale and must change nothing.
   */
  read(source: TSource, isCurrent: () => boolean): Promise<void>;
}

/**
 * Reads a source over and over for a host element, and never two reads at once. It reads
 * only while the host is connected and a source is set, and leaves no timer otherwise. A
 * read asked for while one is on its way follows right after it, once; so does the read
 * of a newly set source (the answer for the previous one is stale). `cadence` says when
 * the next read is due.
 */
export class PollLoop<TSource> {
  private current: TSource | undefined;
  private ms: number;
  private connected = false;
  private inFlight: Promise<void> | undefined;
  /** A read was asked for while one was on its way: read again as soon as it is done. */
  private again = false;
  /** Grows with each new source: a read of an earlier one is stale. */
  private generation = 0;
  /** `fixed-delay`: the timer of the next read. */
  private delay: ReturnType<typeof setTimeout> | undefined;
  /** `fixed-rate`: the beat. */
  private beat: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: IPollLoopOptions<TSource>) {
    this.ms = options.intervalMs;
  }

  /** The source read (`undefined`: none). */
  get source(): TSource | undefined {
    return this.current;
  }

  get intervalMs(): number {
    return this.ms;
  }

  /** Whether a read is going on now. */
  get reading(): boolean {
    return this.inFlight !== undefined;
  }

  /** The host is connected: reads begin. */
  connect(): void {
    this.connected = true;
    // A fixed rate's first beat is a whole interval away: read now, or right after the read
    // on its way. With a fixed delay, retime() reads now unless a read is on its way (its end times the next).
    if (this.options.cadence === 'fixed-rate') void this.refresh();
    this.retime();
  }

  /** The host is gone: no timer is left and no read starts (the one on its way still ends). */
  disconnect(): void {
    this.connected = false;
    this.stopTimers();
  }

  /**
   * Reads `source` (`undefined`: none) from now on, at once or right after the read on its
   * way. Reset what was shown of the previous source before calling this: the read starts
   * inside it.
   */
  setSource(source: TSource | undefined): void {
    if (source === this.current) return;
    this.current = source;
    this.generation++;
    void this.refresh();
    this.retime();
  }

  /** The interval in ms (see `refreshIntervalMs`); what it does at once depends on `cadence`. */
  setIntervalMs(ms: number): void {
    if (ms === this.ms) return;
    this.ms = ms;
    this.retime();
  }

  /**
   * Reads now, or right after the read on its way; resolves once no read is going on. Does
   * nothing while the host is disconnected or no source is set.
   */
  refresh(): Promise<void> {
    if (!this.active) return Promise.resolve();
    if (this.inFlight === undefined) this.start();
    else this.again = true;
    return this.whenIdle();
  }

  /** Resolves once no read is going on and none is due right after it. */
  async whenIdle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  private get active(): boolean {
    return this.connected && this.current !== undefined;
  }

  /** The timing changed (connected, a new source or interval): start the timers over, as `cadence` says. */
  private retime(): void {
    this.stopTimers();
    if (!this.active) return;
    if (this.options.cadence === 'fixed-rate') {
      if (this.ms > 0) this.beat = setInterval(this.readUnlessReading, this.ms);
    } else {
      // No timer is running now: a read begins the chain again, unless the one on its way will.
      this.readUnlessReading();
    }
  }

  /** Skipped while a read is on its way, so that reads never pile up behind a slow source (a beat, a delay run out). */
  private readonly readUnlessReading = (): void => {
    if (this.inFlight === undefined && this.active) this.start();
  };

  private readonly delayOver = (): void => {
    this.delay = undefined;
    this.readUnlessReading();
  };

  private start(): void {
    const source = this.current!;
    const generation = this.generation;
    const isCurrent = () => generation === this.generation;
    this.again = false;
    this.inFlight = (async () => {
      try {
        await this.options.read(source, isCurrent);
      } finally {
        this.inFlight = undefined;
        this.afterRead(isCurrent());
      }
    })();
  }

  /** The read asked for meanwhile, or the new source's, at once; otherwise, with a fixed delay, the next one after it. */
  private afterRead(wasCurrent: boolean): void {
    if (!this.active) return;
    if (this.again || !wasCurrent) return this.start();
    if (this.options.cadence === 'fixed-delay' && this.ms > 0) {
      // A refresh() may have started this read while a delay ran: one timer at a time.
      if (this.delay !== undefined) clearTimeout(this.delay);
      this.delay = setTimeout(this.delayOver, this.ms);
    }
  }

  private stopTimers(): void {
    if (this.delay !== undefined) clearTimeout(this.delay);
    if (this.beat !== undefined) clearInterval(this.beat);
    this.delay = undefined;
    this.beat = undefined;
  }
}
