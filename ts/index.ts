export { Task, type AnyTask, type ITaskOptions, type TTaskReference } from './task/task.js';
export { Taskchain, type ITaskchainOptions } from './variants/taskchain.js';
export { Taskparallel, type ITaskparallelOptions } from './variants/taskparallel.js';
export { TaskOnce } from './variants/taskonce.js';
export { TaskDebounced, type ITaskDebouncedOptions } from './variants/taskdebounced.js';
export { TaskStep } from './task/taskstep.js';
export { Taskgraph } from './graph/taskgraph.js';
export { TaskgraphDefinitionError, TaskgraphError } from './graph/grapherrors.js';
export type {
  ITaskgraphOptions,
  ITaskgraphNode,
  ITaskgraphReport,
  ITaskgraphNodeReport,
  TTaskgraphNodes,
  TTaskgraphTasks,
  TTaskgraphNodeStatus,
  TTaskgraphFailurePolicy,
  TaskgraphResults,
  TaskResultOf,
  TaskInputOf,
} from './graph/graphtypes.js';
export { TaskManager } from './manager/taskmanager.js';
export type {
  ITaskManagerOptions,
  ITaskExecution,
  ITaskExecutionReport,
  IExecuteRemoveOptions,
  IStopOptions,
  IActiveRunInfo,
  IConstraintGroupState,
  IConstraintKeyState,
} from './manager/manageroptions.js';
export type {
  IKeyHolder,
  IShouldExecuteRefusal,
  IWaitingRunInfo,
  TWaitReason,
  IWaitHeld,
  IWaitCap,
  IWaitCooldown,
  IWaitQueued,
  IWaitGroupPaused,
  IWaitTaskPaused,
  IWaitClusterSlot,
  IWaitShouldExecute,
} from './manager/waitreasons.js';
export type { IRetryOptions, RetryPolicy } from './task/retry.js';
export { TaskConstraintGroup, type ITaskConstraintGroupOptions } from './manager/constraintgroup.js';
export type { IScheduleOptions, IScheduledTaskInfo, INextScheduledRun } from './manager/scheduler.js';
export * as distributedCoordination from './coordinator/abstract.js';
export type {
  IDistributedTaskRequest,
  IDistributedTaskRequestResult,
  TDistributedTaskStatus,
} from './coordinator/abstract.js';
export type { IClusterInstance } from './coordinator/clusterinstance.js';
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
  SubscriberError,
  CoordinatorError,
  type TSubscriberNotification,
  type TTaskbufferErrorCode,
} from './errors.js';
export type {
  ITaskEvent,
  ITaskStartedEvent,
  ITaskStepEvent,
  ITaskUpdateEvent,
  ITaskCompletedEvent,
  ITaskFailedEvent,
  ITaskRetryingEvent,
  ITaskPausedEvent,
  ITaskResumedEvent,
  ITaskNodeEvent,
  ITaskNodeStartedEvent,
  ITaskNodeCompletedEvent,
  ITaskNodeFailedEvent,
  ITaskNodeSkippedEvent,
  TTaskEventType,
  IConstraintGroupEvent,
  IConstraintGroupPausedEvent,
  IConstraintGroupResumedEvent,
  ITaskbufferEvent,
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
