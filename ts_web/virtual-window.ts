/**
 * Which cards of a uniform grid a virtual list renders: pure arithmetic, so that it can be
 * tested without a browser. Every card has the same height (the dashboard fixes it, which
 * also keeps live updates from shifting the layout), so a card's place follows from its index.
 */

/** What the grid looks like, as measured (all lengths in px). */
export interface IGridMetrics {
  /** Cards per row (at least 1). */
  columns: number;
  /** Height of one card. */
  rowHeight: number;
  /** Space between rows. */
  rowGap: number;
}

/** The part of the list that is on screen, in px from the list's top (may be empty or beyond it). */
export interface IViewportSlice {
  top: number;
  bottom: number;
}

/** The cards to render: indices `[start, end)`, pushed down by `offsetTop`, in a list `totalHeight` tall. */
export interface IVirtualWindow {
  start: number;
  end: number;
  offsetTop: number;
  totalHeight: number;
}

/**
 * The window of cards to render for `count` cards when `slice` of the list is on screen,
 * with `overscan` px rendered beyond it on both sides (so that a fast scroll does not show
 * blank space before the next frame). Whole rows only.
 */
export function computeWindow(count: number, metrics: IGridMetrics, slice: IViewportSlice, overscan: number): IVirtualWindow {
  const columns = Math.max(1, Math.floor(metrics.columns));
  const pitch = Math.max(1, metrics.rowHeight + metrics.rowGap);
  const rows = Math.ceil(count / columns);
  const totalHeight = rows === 0 ? 0 : rows * pitch - metrics.rowGap;
  const top = Math.max(0, slice.top - overscan);
  const bottom = Math.min(totalHeight, slice.bottom + overscan);
  if (rows === 0 || bottom <= top) return { start: 0, end: 0, offsetTop: 0, totalHeight };
  const firstRow = Math.min(rows - 1, Math.floor(top / pitch));
  const lastRow = Math.min(rows - 1, Math.floor(bottom / pitch));
  return {
    start: firstRow * columns,
    end: Math.min(count, (lastRow + 1) * columns),
    offsetTop: firstRow * pitch,
    totalHeight,
  };
}

/** The number of tracks in a resolved `grid-template-columns` value (`"300px 300px 300px"` → 3). */
export function countTracks(resolved: string): number {
  const tracks = resolved.trim().split(/\s+/).filter((track) => /^[\d.]+px$/.test(track));
  return Math.max(1, tracks.length);
}
