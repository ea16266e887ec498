/**
 * `taskbuffer/web`: importing it registers `<taskbuffer-dashboard>` (once, however often it is imported).
 */
export {
  TaskbufferDashboard,
  TASKBUFFER_DASHBOARD_TAG,
  type IDashboardFilterChangeDetail,
  type IDashboardThemeChangeDetail,
  type TDashboardTheme,
} from './taskbuffer-dashboard.js';
export {
  TaskManagerController,
  MAX_TOTAL_RUNS,
  type ITaskManagerControllerOptions,
} from './taskmanager-controller.js';
export type { IDashboardSource, IConstraintGroupView, ISubscribableLike } from './dashboard-source.js';
export type { ITaskView } from './task-view.js';
export type { IRunRecord, TRunOutcome } from './run-history.js';
export { parseQuery, formatQuery, matchesQuery, type ITaskQuery, type IQuerySubject } from './dashboard-query.js';
export { MinuteMetrics, METRIC_MINUTES, type IMinutePoint, type IMetricsSummary } from './minute-metrics.js';
export { RunMetrics } from './run-metrics.js';
export {
  LocalDashboardActions,
  parseActions,
  DASHBOARD_ACTIONS,
  type IDashboardActions,
  type TDashboardAction,
} from './dashboard-actions.js';
export { KeyTimeline, TIMELINE_WINDOW_MS, type ITimelineSegment, type TSegmentKind } from './key-timeline.js';
export {
  ClusterController,
  LATE_HEARTBEAT_MS,
  type IDashboardCluster,
  type IDashboardInstance,
} from './cluster-controller.js';
export { describeWait, describeWaitingRun, describeHolder, describeRefusal } from './wait-words.js';
export type { IDashboardQueue, IDashboardQueueListOptions } from './dashboard-queue-source.js';
export {
  QueueController,
  QUEUE_PAGE_SIZE,
  MAX_PAGES_BACK,
  type IQueueControllerOptions,
  type IQueueJobDetail,
} from './queue-controller.js';
