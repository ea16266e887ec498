import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** What the search controller needs from its host. */
export interface ISearchControllerHost extends ReactiveControllerHost, HTMLElement {
  /** The URL search parameter holding the query; `''` leaves the URL alone. */
  searchParam: string;
  /** Sets the query read from the URL (on connect, and on back/forward). */
  applyQueryFromUrl(query: string): void;
  /** Moves the keyboard focus into the search box. */
  focusSearch(): void;
}

/** How long the URL waits after the last keystroke: history APIs are throttled by browsers, and typing is bursty. */
const URL_WRITE_DELAY_MS = 250;

/**
 * Keeps the search query in the page's URL, so that a filtered view can be bookmarked and
 * shared, and focuses the search box on `/` (as GitHub, Gmail and MDN do) unless the user
 * is typing somewhere already. The URL is changed with `history.replaceState`: typing adds
 * no history entries and does not reload or scroll the page.
 */
export class SearchController implements ReactiveController {
  private writeTimer: ReturnType<typeof setTimeout> | undefined;
  private pendingQuery: string | undefined;

  constructor(private readonly host: ISearchControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('keydown', this.onKeyDown);
    addEventListener('popstate', this.onPopState);
    this.readUrl();
  }

  hostDisconnected(): void {
    document.removeEventListener('keydown', this.onKeyDown);
    removeEventListener('popstate', this.onPopState);
    this.flush();
  }

  /** Puts `query` into the URL shortly (the last of several calls wins). */
  writeUrl(query: string): void {
    if (this.host.searchParam === '') return;
    this.pendingQuery = query;
    if (this.writeTimer === undefined) this.writeTimer = setTimeout(() => this.flush(), URL_WRITE_DELAY_MS);
  }

  private flush(): void {
    if (this.writeTimer !== undefined) clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    const query = this.pendingQuery;
    this.pendingQuery = undefined;
    const param = this.host.searchParam;
    if (query === undefined || param === '') return;
    const url = new URL(location.href);
    if ((url.searchParams.get(param) ?? '') === query) return;
    if (query === '') url.searchParams.delete(param);
    else url.searchParams.set(param, query);
    history.replaceState(history.state, '', url);
  }

  private readUrl(): void {
    const param = this.host.searchParam;
    if (param === '') return;
    const query = new URL(location.href).searchParams.get(param);
    if (query !== null) this.host.applyQueryFromUrl(query);
  }

  private readonly onPopState = (): void => {
    const param = this.host.searchParam;
    if (param !== '') this.host.applyQueryFromUrl(new URL(location.href).searchParams.get(param) ?? '');
  };

  private readonly onKeyDown = (event: KeyboardEvent): void => {
    if (event.key !== '/' || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTypingTarget(event.composedPath()[0])) return;
    // A hidden dashboard (display: none, or not laid out) does not take the key.
    if (this.host.getClientRects().length === 0) return;
    event.preventDefault();
    this.host.focusSearch();
  };
}

/** Whether a key pressed on `target` is text being typed (then `/` is a slash, not a shortcut). */
function isTypingTarget(target: EventTarget | undefined): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}
