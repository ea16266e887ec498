/**
 * The last minutes of runs per constraint key, for the timeline (Gantt) of the waits view.
 * Events say when a run began and ended but not which key it held; the group states say
 * which runs hold which key. So a run is put on a key's line when a state read while it
 * ran names it as a holder: a run shorter than one read apart may not show.
 *
 * Memory is bounded whatever runs for days: segments older than the window go, at most
 * `MAX_SEGMENTS` are kept in all, and at most `MAX_OPEN_RUNS` starts wait for their end.
 */

/** How far back the timeline looks. */
export const TIMELINE_WINDOW_MS = 5 * 60_000;
/** The shortest span it shows: on a page opened just now, the time since then, but at least this. */
export const TIMELINE_MIN_SPAN_MS = 30_000;
export const MAX_SEGMENTS = 5000;
export const MAX_OPEN_RUNS = 5000;

export type TSegmentKind = 'running' | 'completed' | 'failed' | 'cooldown';

/** One bar of a key's line. Times are epoch ms; `end` is unset while the run goes on. */
export interface ITimelineSegment {
  groupName: string;
  key: string;
  kind: TSegmentKind;
  start: number;
  end?: number;
  runId?: string;
  taskName?: string;
}

/** What the timeline needs of a group state (the core's `IConstraintGroupState`). */
export interface ITimelineGroup {
  name: string;
  cooldownMs: number;
  keys: ReadonlyArray<{ key: string; holders?: ReadonlyArray<{ runId: string; taskName: string; since?: number }> }>;
}

interface IOpenRun {
  start: number;
  taskName: string;
  /** The segments of the keys this run was seen holding. */
  segments: ITimelineSegment[];
  /** Cooldown per segment, as the group had it. */
  cooldowns: number[];
}

export class KeyTimeline {
  private segments: ITimelineSegment[] = [];
  private readonly open = new Map<string, IOpenRun>();
  /** Runs that ended lately: a state read just before the end may still name them as holders. */
  private readonly recentlyEnded = new Set<string>();
  /** When the timeline began to watch (its first run or read): before then it knows nothing. */
  private origin: number | undefined;

  /** A run began (its `started` event). */
  started(runId: string, taskName: string, at: number): void {
    this.origin ??= at;
    if (this.open.has(runId)) return;
    if (this.open.size >= MAX_OPEN_RUNS) this.open.delete(this.open.keys().next().value!);
    this.open.set(runId, { start: at, taskName, segments: [], cooldowns: [] });
  }

  /** A run ended: its bars end, and a key whose group has a cooldown gets a cooldown bar after it. */
  ended(runId: string, outcome: 'completed' | 'failed', at: number): void {
    const run = this.open.get(runId);
    if (run === undefined) return;
    this.open.delete(runId);
    this.recentlyEnded.add(runId);
    if (this.recentlyEnded.size > MAX_OPEN_RUNS) this.recentlyEnded.delete(this.recentlyEnded.values().next().value!);
    run.segments.forEach((segment, index) => {
      segment.kind = outcome;
      segment.end = at;
      const cooldownMs = run.cooldowns[index]!;
      if (cooldownMs > 0) this.push({ groupName: segment.groupName, key: segment.key, kind: 'cooldown', start: at, end: at + cooldownMs });
    });
  }

  /** A read of the group states: runs named as holders go on their keys' lines. */
  observe(groups: readonly ITimelineGroup[], now: number): void {
    this.origin ??= now;
    for (const group of groups) {
      for (const key of group.keys) {
        for (const holder of key.holders ?? []) this.hold(group, key.key, holder, now);
      }
    }
    this.prune(now);
  }

  /** The segments that reach into the window ending at `now`, oldest first. */
  segmentsSince(now: number): ITimelineSegment[] {
    const from = now - TIMELINE_WINDOW_MS;
    return this.segments.filter((segment) => (segment.end ?? now) >= from);
  }

  /**
   * The span to show at `now`: the time watched so far (a page opened a minute ago shows
   * that minute across the whole width), at least `TIMELINE_MIN_SPAN_MS`, at most the window.
   */
  spanAt(now: number): number {
    const watched = this.origin === undefined ? 0 : now - this.origin;
    return Math.min(TIMELINE_WINDOW_MS, Math.max(TIMELINE_MIN_SPAN_MS, watched));
  }

  get size(): number {
    return this.segments.length;
  }

  get openRuns(): number {
    return this.open.size;
  }

  clear(): void {
    this.segments = [];
    this.open.clear();
    this.recentlyEnded.clear();
    this.origin = undefined;
  }

  private hold(group: ITimelineGroup, key: string, holder: { runId: string; taskName: string; since?: number }, now: number): void {
    let run = this.open.get(holder.runId);
    if (run === undefined) {
      if (this.recentlyEnded.has(holder.runId)) return;
      // Seen holding before its start event was (the page attached late): it began at `since`.
      this.started(holder.runId, holder.taskName, holder.since ?? now);
      run = this.open.get(holder.runId)!;
    }
    if (run.segments.some((segment) => segment.groupName === group.name && segment.key === key)) return;
    const segment: ITimelineSegment = { groupName: group.name, key, kind: 'running', start: holder.since ?? run.start, runId: holder.runId, taskName: holder.taskName };
    run.segments.push(segment);
    run.cooldowns.push(group.cooldownMs);
    this.push(segment);
  }

  private push(segment: ITimelineSegment): void {
    this.segments.push(segment);
    if (this.segments.length > MAX_SEGMENTS) this.segments.splice(0, this.segments.length - MAX_SEGMENTS);
  }

  /** Drops what ended before the window; kept in start order, so only a prefix can go most of the time. */
  private prune(now: number): void {
    const from = now - TIMELINE_WINDOW_MS;
    if (this.segments.some((segment) => segment.end !== undefined && segment.end < from)) {
      this.segments = this.segments.filter((segment) => segment.end === undefined || segment.end >= from);
    }
  }
}
