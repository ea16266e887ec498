import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { FrameBatch } from './frame-batch.js';
import { computeWindow, countTracks, type IGridMetrics, type IViewportSlice, type IVirtualWindow } from './virtual-window.js';

/** Before anything is measured: a guess that fills a large screen, corrected after the first render. */
const GUESSED_METRICS: IGridMetrics = { columns: 4, rowHeight: 200, rowGap: 12 };
/** Rendered beyond the visible part, above and below, as a share of the viewport's height. */
const OVERSCAN_SHARE = 0.75;

/**
 * Keeps a virtual grid's window in step with the page: which cards of the list are on screen
 * (or nearly), so that only those are in the DOM, whatever the number of tasks.
 *
 * It reads the layout only when the layout can have moved: a scroll (of the page or of any
 * scrolling ancestor in the page), a resize of the window, the host or the list, and once
 * after a render that created the list. A read that changes the window asks the host for one
 * update, at most once per animation frame.
 */
export class VirtualGridController implements ReactiveController {
  private metrics: IGridMetrics = GUESSED_METRICS;
  private slice: IViewportSlice = { top: 0, bottom: typeof innerHeight === 'number' ? innerHeight : 900 };
  private overscan = (typeof innerHeight === 'number' ? innerHeight : 900) * OVERSCAN_SHARE;
  private list: HTMLElement | null = null;
  private lastCount = 0;
  private lastWindow: IVirtualWindow | undefined;
  private resizeObserver: ResizeObserver | undefined;
  private readonly frame = new FrameBatch(() => this.measure());
  private readonly onScroll = (): void => this.frame.request();

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    /** Finds the list element in the host's shadow root (it exists after the first render). */
    private readonly findList: () => HTMLElement | null,
  ) {
    host.addController(this);
  }

  /** The cards to render out of `count`, for the layout last measured. */
  window(count: number): IVirtualWindow {
    this.lastCount = count;
    this.lastWindow = computeWindow(count, this.metrics, this.slice, this.overscan);
    return this.lastWindow;
  }

  hostConnected(): void {
    // Capture: scroll events do not bubble, but a scrolling ancestor's still pass the window on the way down.
    addEventListener('scroll', this.onScroll, { capture: true, passive: true });
    addEventListener('resize', this.onScroll, { passive: true });
    if (typeof ResizeObserver === 'function') {
      this.resizeObserver = new ResizeObserver(this.onScroll);
      this.resizeObserver.observe(this.host);
      if (this.list !== null) this.resizeObserver.observe(this.list);
    }
  }

  hostDisconnected(): void {
    removeEventListener('scroll', this.onScroll, { capture: true });
    removeEventListener('resize', this.onScroll);
    this.resizeObserver?.disconnect();
    this.resizeObserver = undefined;
    this.frame.cancel();
  }

  hostUpdated(): void {
    const list = this.findList();
    if (list === this.list) return;
    this.list = list;
    if (list === null) return;
    this.resizeObserver?.observe(list);
    // A new list: measure now, so that a wrong guess is corrected before the first paint.
    this.measure();
  }

  /** Reads where the list is and how its grid is laid out; asks for an update when the window moved. */
  private measure(): void {
    const list = this.list;
    if (list === null || !list.isConnected) return;
    const style = getComputedStyle(list);
    const rowHeight = parseFloat(style.gridAutoRows);
    const rowGap = parseFloat(style.rowGap);
    this.metrics = {
      columns: countTracks(style.gridTemplateColumns),
      rowHeight: Number.isFinite(rowHeight) && rowHeight > 0 ? rowHeight : GUESSED_METRICS.rowHeight,
      rowGap: Number.isFinite(rowGap) ? rowGap : 0,
    };
    const rect = list.getBoundingClientRect();
    const viewport = document.documentElement.clientHeight || innerHeight;
    this.slice = { top: -rect.top, bottom: viewport - rect.top };
    this.overscan = viewport * OVERSCAN_SHARE;
    const next = computeWindow(this.lastCount, this.metrics, this.slice, this.overscan);
    const last = this.lastWindow;
    if (last === undefined || next.start !== last.start || next.end !== last.end || next.totalHeight !== last.totalHeight) {
      this.host.requestUpdate();
    }
  }
}
