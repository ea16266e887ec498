export { Task, type AnyTask, type ITaskOptions, type TTaskReference } from './task.js';
export { Taskchain, type ITaskchainOptions } from './taskchain.js';
export { Taskparallel, type ITaskparallelOptions } from './taskparallel.js';
export { TaskOnce } from './taskonce.js';
export { TaskDebounced, type ITaskDebouncedOptions } from './taskdebounced.js';
export { TaskStep } from './taskstep.js';
export {
  TaskbufferError,
  InvalidOptionError,
  UnknownStepError,
  TaskChainError,
  type TTaskbufferErrorCode,
} from './errors.js';
export type {
  ITaskEvent,
  ITaskStartedEvent,
  ITaskStepEvent,
  ITaskCompletedEvent,
  ITaskFailedEvent,
  TTaskEventType,
} from './events.js';
export type {
  ITaskFunction,
  ITaskMetadata,
  ITaskStep,
  ITaskStepDefinition,
  StepNames,
  TStepStatus,
  TTaskStatus,
} from './types.js';
