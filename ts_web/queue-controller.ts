import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { IDashboardQueue, IJob, IQueueCounts, TJobState } from './dashboard-queue-source.js';
import { filterJobs } from './queue-filter.js';

/** Jobs per page of the queue view. */
export const QUEUE_PAGE_SIZE = 25;
/** Pages remembered behind the current one for "Previous"; past this, the oldest are forgotten (Previous then leads to the first page). */
export const MAX_PAGES_BACK = 1000;

const DEFAULT_REFRESH_MS = 1000;

/** The job shown in the detail panel: `job` is `undefined` while it is read, `null` when the queue has no job by that id. */
export interface IQueueJobDetail {
  id: string;
  job: IJob | null | undefined;
}

/** Options of `new QueueController(host, options)`. */
export interface IQueueControllerOptions {
  /**
   * How often, in ms, to read the counts, the page shown and the job in the detail panel
   * again. `0` turns polling off (reads still follow every change the user makes).
   * @default 1000
   */
  refreshInterval?: number;
}

/**
 * Keeps a host element's view of a durable queue (`IDashboardQueue`): the counts per
 * state, one page of the jobs of the chosen state (paged with `after`), the filter of that
 * page and the job in the detail panel. It reads them again every `refreshInterval` while
 * the host is connected and a queue is set, and never has two reads going at once: a tick
 * that comes while a read is in flight is skipped, and a change the user makes meanwhile is
 * read right after it. No timer outlives `hostDisconnected`. A failed read is kept in
 * `error`, in words, and what was read before stays. Memory is bounded: one page, one job,
 * at most `MAX_PAGES_BACK` page cursors.
 */
export class QueueController implements ReactiveController {
  /** The counts of the last read (`undefined` until the first one answered). */
  counts: IQueueCounts | undefined;
  /** The state whose jobs are listed. */
  state: TJobState = 'waiting';
  /** The page of jobs shown (at most `QUEUE_PAGE_SIZE`), as the queue lists them. */
  jobs: IJob[] = [];
  /** Whether `jobs` holds the page asked for (false while a new state or page is being read). */
  pageLoaded = false;
  /** Whether the queue has jobs after this page. */
  hasMore = false;
  /** 1 for the first page. */
  pageNumber = 1;
  /** The filter of the page read: `key=value` label terms and task-name terms (see `filterJobs`). */
  filter = '';
  /** The job in the detail panel, if one is open. */
  detail: IQueueJobDetail | undefined;
  /** Why the last read failed, in words; `undefined` once a read succeeds. */
  error: string | undefined;

  private source: IDashboardQueue | undefined;
  private refreshMs: number;
  private connected = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The `after` of the page shown (`undefined`: the first page). */
  private after: string | undefined;
  /** The `after` of each page before this one, oldest first. */
  private readonly cursorsBack: Array<string | undefined> = [];
  private inFlight: Promise<void> | undefined;
  /** A change came while a read was in flight: read again as soon as it is done. */
  private again = false;
  /** Grows with every queue set: a read for an earlier queue changes nothing. */
  private generation = 0;

  constructor(private readonly host: ReactiveControllerHost, options: IQueueControllerOptions = {}) {
    this.refreshMs = sanitizeInterval(options.refreshInterval ?? DEFAULT_REFRESH_MS);
    host.addController(this);
  }

  /** The queue shown (`undefined`: none). */
  get queue(): IDashboardQueue | undefined {
    return this.source;
  }

  /** The jobs of the page that match `filter`. */
  get visibleJobs(): IJob[] {
    return filterJobs(this.jobs, this.filter);
  }

  /** Whether a read is going on now. */
  get reading(): boolean {
    return this.inFlight !== undefined;
  }

  /** Both settings at once (what the dashboard calls while it updates). */
  configure(queue: IDashboardQueue | undefined, refreshInterval: number): void {
    this.setRefreshInterval(refreshInterval);
    this.setQueue(queue);
  }

  /** Shows `queue` instead of the current one, from its first page; everything read from the previous one goes. */
  setQueue(queue: IDashboardQueue | undefined): void {
    if (queue === this.source) return;
    this.source = queue;
    this.generation++;
    this.counts = undefined;
    this.detail = undefined;
    this.error = undefined;
    this.resetPaging();
    this.restart();
  }

  setRefreshInterval(ms: number): void {
    const next = sanitizeInterval(ms);
    if (next === this.refreshMs) return;
    this.refreshMs = next;
    this.startTimer();
  }

  hostConnected(): void {
    this.connected = true;
    this.restart();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.stopTimer();
  }

  /** Lists the jobs of `state`, from the first page. */
  showState(state: TJobState): void {
    if (state === this.state && this.pageNumber === 1) return void this.refresh();
    this.state = state;
    this.resetPaging();
    this.changed();
  }

  /** The page after this one (when there is one). */
  nextPage(): void {
    const last = this.jobs[this.jobs.length - 1];
    if (!this.hasMore || !this.pageLoaded || last === undefined) return;
    this.cursorsBack.push(this.after);
    if (this.cursorsBack.length > MAX_PAGES_BACK) this.cursorsBack.shift();
    this.after = last.id;
    this.pageNumber++;
    this.pageChanged();
  }

  /** The page before this one (the first page when the cursors that far back were forgotten). */
  previousPage(): void {
    if (this.pageNumber <= 1) return;
    // Once the cursors run out (the oldest forgotten), pop gives undefined: the first page.
    this.after = this.cursorsBack.pop();
    this.pageNumber = this.after === undefined ? 1 : this.pageNumber - 1;
    this.pageChanged();
  }

  /** Filters the page read (nothing is read again). */
  setFilter(text: string): void {
    this.filter = text;
    this.host.requestUpdate();
  }

  /** Opens the detail panel on job `id` (from the page if it is there, then read from the queue); `''` does nothing. */
  showJob(id: string): void {
    const wanted = id.trim();
    if (wanted === '') return;
    // The job already open stays shown until it is read again; another one shows from the page, if it is there.
    const shown = this.detail?.id === wanted ? this.detail.job : this.jobs.find((job) => job.id === wanted);
    this.detail = { id: wanted, job: shown };
    this.changed();
  }

  closeJob(): void {
    this.detail = undefined;
    this.host.requestUpdate();
  }

  // ---- handlers bound in templates (made once; they read `data-*` of their element) ----

  /** A state's count (`data-state`). */
  readonly onStateClick = (event: Event): void => {
    this.showState((event.currentTarget as HTMLElement).dataset.state as TJobState);
  };

  readonly onNextPage = (): void => this.nextPage();

  readonly onPreviousPage = (): void => this.previousPage();

  readonly onFilterInput = (event: Event): void => {
    this.setFilter((event.target as HTMLInputElement).value);
  };

  /** The find-by-id form: its `id` field. */
  readonly onFind = (event: Event): void => {
    event.preventDefault();
    const field = (event.currentTarget as HTMLFormElement).elements.namedItem('job-id') as HTMLInputElement | null;
    this.showJob(field?.value ?? '');
  };

  /** A job's id in the table (`data-job`). */
  readonly onJobClick = (event: Event): void => {
    this.showJob((event.currentTarget as HTMLElement).dataset.job ?? '');
  };

  readonly onCloseJob = (): void => this.closeJob();

  /**
   * Reads the counts, the page and the job in the detail panel now, or right after the
   * read in flight; resolves once no read is going on. Does nothing while the host is
   * disconnected or no queue is set.
   */
  refresh(): Promise<void> {
    if (!this.active) return Promise.resolve();
    if (this.inFlight === undefined) this.read();
    else this.again = true;
    return this.whenIdle();
  }

  /** Resolves once no read is going on and none is due (for tests and callers that act after a read). */
  async whenIdle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  private get active(): boolean {
    return this.connected && this.source !== undefined;
  }

  private read(): void {
    const queue = this.source!;
    const generation = this.generation;
    const { state, after } = this;
    const detailId = this.detail?.id;
    this.again = false;
    this.inFlight = (async () => {
      try {
        const [counts, page, job] = await Promise.all([
          queue.getCounts(),
          queue.listJobs({ state, limit: QUEUE_PAGE_SIZE + 1, after }),
          detailId === undefined ? undefined : queue.getJob(detailId),
        ]);
        if (generation !== this.generation) return;
        this.counts = counts;
        this.error = undefined;
        // The user may have moved on meanwhile: a page of another state or cursor is not shown.
        if (state === this.state && after === this.after) {
          this.jobs = page.slice(0, QUEUE_PAGE_SIZE);
          this.hasMore = page.length > QUEUE_PAGE_SIZE;
          this.pageLoaded = true;
        }
        if (detailId !== undefined && this.detail?.id === detailId) this.detail = { id: detailId, job: job ?? null };
      } catch (error) {
        if (generation === this.generation) this.error = `Could not read the queue: ${messageOf(error)}`;
      } finally {
        this.inFlight = undefined;
        if (generation === this.generation) this.host.requestUpdate();
        if (this.again && this.active) this.read();
      }
    })();
  }

  /** A tick: skipped while a read is in flight, so that reads never pile up behind a slow queue. */
  private readonly tick = (): void => {
    if (this.inFlight === undefined && this.active) this.read();
  };

  private restart(): void {
    this.startTimer();
    void this.refresh();
  }

  private startTimer(): void {
    this.stopTimer();
    if (this.active && this.refreshMs > 0) this.timer = setInterval(this.tick, this.refreshMs);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private resetPaging(): void {
    this.after = undefined;
    this.cursorsBack.length = 0;
    this.pageNumber = 1;
    this.jobs = [];
    this.hasMore = false;
    this.pageLoaded = false;
  }

  private pageChanged(): void {
    this.jobs = [];
    this.hasMore = false;
    this.pageLoaded = false;
    this.changed();
  }

  private changed(): void {
    this.host.requestUpdate();
    void this.refresh();
  }
}

function sanitizeInterval(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.max(16, ms) : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
