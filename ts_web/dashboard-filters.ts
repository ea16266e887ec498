import { isEmptyQuery, matchesQuery, type IQuerySubject, type ITaskQuery } from './dashboard-query.js';
import type { IDashboardFilterChangeDetail } from './dashboard-types.js';
import type { IMembership } from './task-memberships.js';
import type { ITaskView } from './task-view.js';
import { statusOf } from './task-status.js';

/** The three filters of the toolbar's selects and the `*-filter` attributes; `''` means "all" for each. */
export type IDashboardFilters = Readonly<Omit<IDashboardFilterChangeDetail, 'query'>>;

/**
 * The tasks that pass every filter set and the search query, in their order. The older
 * filters and the query combine like the query's own terms: all must match.
 */
export function applyFilters(
  views: ITaskView[],
  filters: IDashboardFilters,
  query: ITaskQuery,
  membershipsOf: (name: string) => readonly IMembership[],
): ITaskView[] {
  const status = filters.status;
  const [labelKey, labelValue] = splitLabelFilter(filters.label);
  const name = filters.name.trim().toLowerCase();
  const searching = !isEmptyQuery(query);
  if (status === '' && labelKey === '' && name === '' && !searching) return views;
  return views.filter((view) => {
    const metadata = view.metadata;
    if (status !== '' && statusOf(metadata) !== status) return false;
    if (labelKey !== '') {
      if (!Object.prototype.hasOwnProperty.call(metadata.labels, labelKey)) return false;
      if (labelValue !== undefined && metadata.labels[labelKey] !== labelValue) return false;
    }
    if (name !== '' && !view.name.toLowerCase().includes(name)) return false;
    return !searching || matchesQuery(query, subjectOf(view, membershipsOf));
  });
}

/** What the query reads of a task: errors are the last one and those of the runs kept. */
function subjectOf(view: ITaskView, membershipsOf: (name: string) => readonly IMembership[]): IQuerySubject {
  const errors: string[] = [];
  if (view.metadata.lastError !== undefined) errors.push(view.metadata.lastError);
  for (const run of view.runs) if (run.error !== undefined) errors.push(run.error);
  return {
    name: view.name,
    status: statusOf(view.metadata),
    labels: view.metadata.labels,
    errors,
    memberships: () => membershipsOf(view.name),
  };
}

/** `key` → `[key, undefined]` (any value), `key=value` → `[key, value]`, `''` → no label filter. */
function splitLabelFilter(filter: string): [string, string | undefined] {
  if (filter === '') return ['', undefined];
  const at = filter.indexOf('=');
  return at < 0 ? [filter, undefined] : [filter.slice(0, at), filter.slice(at + 1)];
}
