export { Task, type AnyTask, type ITaskOptions, type TTaskReference } from './task.js';
export { Taskchain, type ITaskchainOptions } from './taskchain.js';
export { Taskparallel, type ITaskparallelOptions } from './taskparallel.js';
export { TaskOnce } from './taskonce.js';
export { TaskDebounced, type ITaskDebouncedOptions } from './taskdebounced.js';
export { TaskStep } from './taskstep.js';
export {
  TaskManager,
  type ITaskManagerOptions,
  type ITaskExecution,
  type ITaskExecutionReport,
  type IExecuteRemoveOptions,
  type IStopOptions,
  type IConstraintGroupEvent,
  type IConstraintGroupState,
} from './taskmanager.js';
export type { IRetryOptions } from './retry.js';
export { TaskConstraintGroup, type ITaskConstraintGroupOptions } from './constraintgroup.js';
export type { IScheduledTaskInfo, INextScheduledRun } from './scheduler.js';
export * as distributedCoordination from './coordinator/abstract.js';
export type {
  IDistributedTaskRequest,
  IDistributedTaskRequestResult,
  TDistributedTaskStatus,
} from './coordinator/abstract.js';
export {
  TaskbufferError,
  InvalidOptionError,
  UnknownStepError,
  TaskChainError,
  InvalidCronError,
  UnknownTaskError,
  DuplicateTaskError,
  ShutdownError,
  AbortError,
  TimeoutError,
  type TTaskbufferErrorCode,
} from './errors.js';
export type {
  ITaskEvent,
  ITaskStartedEvent,
  ITaskStepEvent,
  ITaskCompletedEvent,
  ITaskFailedEvent,
  ITaskRetryingEvent,
  ITaskPausedEvent,
  ITaskResumedEvent,
  TTaskEventType,
} from './events.js';
export type {
  ITaskFunction,
  ITaskContext,
  ITriggerOptions,
  ITaskMetadata,
  ITaskStep,
  ITaskStepDefinition,
  StepNames,
  TStepStatus,
  TTaskStatus,
} from './types.js';
