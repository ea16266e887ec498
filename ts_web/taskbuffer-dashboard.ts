import type { IDashboardFilterChangeDetail, IDashboardThemeChangeDetail } from './dashboard-types.js';
import { TaskbufferDashboard } from './taskbuffer-dashboard.component.js';

export { TaskbufferDashboard };
export type { IDashboardFilterChangeDetail, IDashboardThemeChangeDetail, TDashboardTheme } from './dashboard-types.js';

/** The tag this module registers. */
export const TASKBUFFER_DASHBOARD_TAG = 'taskbuffer-dashboard';

// Guarded: importing this module twice (or two copies of the package) must not throw.
if (typeof customElements !== 'undefined' && customElements.get(TASKBUFFER_DASHBOARD_TAG) === undefined) {
  customElements.define(TASKBUFFER_DASHBOARD_TAG, TaskbufferDashboard);
}

declare global {
  interface HTMLElementTagNameMap {
    'taskbuffer-dashboard': TaskbufferDashboard;
  }
  interface GlobalEventHandlersEventMap {
    'taskbuffer-filter-change': CustomEvent<IDashboardFilterChangeDetail>;
    'taskbuffer-theme-change': CustomEvent<IDashboardThemeChangeDetail>;
  }
}
