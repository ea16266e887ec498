/** `auto` (or no attribute) follows `prefers-color-scheme`. */
export type TDashboardTheme = 'auto' | 'light' | 'dark';

/** Detail of `taskbuffer-filter-change`. */
export interface IDashboardFilterChangeDetail {
  /** `''` (all) or a status such as `failed`. */
  status: string;
  /** `''` (all), `key` (has the label) or `key=value`. */
  label: string;
  /** `''` (all) or text the task name must contain (case-insensitive). */
  name: string;
  /** The search box: `''` (all) or a query such as `status:failed label:tenantId=acme timeout`. */
  query: string;
}

/** Detail of `taskbuffer-theme-change`. */
export interface IDashboardThemeChangeDetail {
  theme: TDashboardTheme;
}
