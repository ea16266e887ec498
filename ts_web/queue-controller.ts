import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { IDashboardQueue, IJob, IQueueCounts, TJobState } from './dashboard-queue-source.js';
import { PollLoop, refreshIntervalMs } from './poll-loop.js';
import { filterJobs } from './queue-filter.js';
import { messageOf } from './error-text.js';

/** Jobs per page of the queue view. */
export const QUEUE_PAGE_SIZE = 25;
/** Pages remembered behind the current one for "Previous"; past this, the oldest are forgotten (Previous then leads to the first page). */
export const MAX_PAGES_BACK = 1000;

const DEFAULT_REFRESH_MS = 1000;

/** The job shown in the detail panel: `job` is `undefined` while it is read, `null` when the queue has no job by that id. */
export interface IQueueJobDetail {
  id: string;
  /** `undefined` while it is read, `null` when the queue has no such job. */
  job: IJob | null | undefined;
  /** Why the job could not be read (e.g. an id longer than the gateway takes), in words. */
  problem?: string;
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

  private readonly poll: PollLoop<IDashboardQueue>;
  /** The `after` of the page shown (`undefined`: the first page). */
  private after: string | undefined;
  /** The `after` of each page before this one, oldest first. */
  private readonly cursorsBack: Array<string | undefined> = [];

  constructor(private readonly host: ReactiveControllerHost, options: IQueueControllerOptions = {}) {
    this.poll = new PollLoop({
      cadence: 'fixed-rate',
      intervalMs: refreshIntervalMs(options.refreshInterval ?? DEFAULT_REFRESH_MS),
      read: (queue, isCurrent) => this.read(queue, isCurrent),
    });
    host.addController(this);
  }

  /** The queue shown (`undefined`: none). */
  get queue(): IDashboardQueue | undefined {
    return this.poll.source;
  }

  /** The jobs of the page that match `filter`. */
  get visibleJobs(): IJob[] {
    return filterJobs(this.jobs, this.filter);
  }

  /** Whether a read is going on now. */
  get reading(): boolean {
    return this.poll.reading;
  }

  /** Both settings at once (what the dashboard calls while it updates). */
  configure(queue: IDashboardQueue | undefined, refreshInterval: number): void {
    this.setRefreshInterval(refreshInterval);
    this.setQueue(queue);
  }

  /** Shows `queue` instead of the current one, from its first page; everything read from the previous one goes. */
  setQueue(queue: IDashboardQueue | undefined): void {
    if (queue === this.poll.source) return;
    this.counts = undefined;
    this.detail = undefined;
    this.error = undefined;
    this.resetPaging();
    this.poll.setSource(queue);
  }

  /** How often to read (ms; `0` reads once, at least 16 otherwise). */
  setRefreshInterval(ms: number): void {
    this.poll.setIntervalMs(refreshIntervalMs(ms));
  }

  hostConnected(): void {
    this.poll.connect();
  }

  hostDisconnected(): void {
    this.poll.disconnect();
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

  /** Closes the detail panel. */
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
    return this.poll.refresh();
  }

  /** Resolves once no read is going on and none is due (for tests and callers that act after a read). */
  whenIdle(): Promise<void> {
    return this.poll.whenIdle();
  }

  private async read(queue: IDashboardQueue, isCurrent: () => boolean): Promise<void> {
    const { state, after } = this;
    const detailId = this.detail?.id;
    try {
      const [counts, page, job] = await Promise.all([
        queue.getCounts(),
        queue.listJobs({ state, limit: QUEUE_PAGE_SIZE + 1, after }),
        detailId === undefined ? undefined : readJob(queue, detailId),
      ]);
      if (!isCurrent()) return;
      this.counts = counts;
      this.error = undefined;
      // The user may have moved on meanwhile: a page of another state or cursor is not shown.
      if (state === this.state && after === this.after) {
        this.jobs = page.slice(0, QUEUE_PAGE_SIZE);
        this.hasMore = page.length > QUEUE_PAGE_SIZE;
        this.pageLoaded = true;
      }
      if (detailId !== undefined && this.detail?.id === detailId) {
        this.detail = typeof job === 'string' ? { id: detailId, job: null, problem: job } : { id: detailId, job: job ?? null };
      }
    } catch (error) {
      if (isCurrent()) this.error = `Could not read the queue: ${messageOf(error)}`;
    } finally {
      if (isCurrent()) this.host.requestUpdate();
    }
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

/** The job, `null`, or why it could not be read: one bad id must not stop the counts and the page from being read. */
function readJob(queue: IDashboardQueue, id: string): Promise<IJob | null | string> {
  return Promise.resolve()
    .then(() => queue.getJob(id))
    .catch((error: unknown) => `Could not read job ${JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id)}: ${messageOf(error)}`);
}

