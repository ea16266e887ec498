import type { IDashboardFilterChangeDetail } from './dashboard-types.js';
import type { ITaskView } from './task-view.js';
import { statusOf } from './task-status.js';

/** The three filters of the toolbar; `''` means "all" for each. */
export type IDashboardFilters = Readonly<IDashboardFilterChangeDetail>;

/** The tasks that pass every filter set, in their order. */
export function applyFilters(views: ITaskView[], filters: IDashboardFilters): ITaskView[] {
  const status = filters.status;
  const [labelKey, labelValue] = splitLabelFilter(filters.label);
  const name = filters.name.trim().toLowerCase();
  if (status === '' && labelKey === '' && name === '') return views;
  return views.filter((view) => {
    const metadata = view.metadata;
    if (status !== '' && statusOf(metadata) !== status) return false;
    if (labelKey !== '') {
      if (!Object.prototype.hasOwnProperty.call(metadata.labels, labelKey)) return false;
      if (labelValue !== undefined && metadata.labels[labelKey] !== labelValue) return false;
    }
    return name === '' || view.name.toLowerCase().includes(name);
  });
}

/** `key` → `[key, undefined]` (any value), `key=value` → `[key, value]`, `''` → no label filter. */
function splitLabelFilter(filter: string): [string, string | undefined] {
  if (filter === '') return ['', undefined];
  const at = filter.indexOf('=');
  return at < 0 ? [filter, undefined] : [filter.slice(0, at), filter.slice(at + 1)];
}
