/**
 * What a manager tells about who holds a key and why a run waits: plain, JSON-safe data
 * (`getConstraintGroupStates`, `getWaitingRuns`), so that it can cross a websocket as it is.
 * A dashboard turns it into words; the core only says what it knows.
 */

/** A run holding a slot of a constraint key. */
export interface IKeyHolder {
  /** The id the run's events carry. */
  runId: string;
  taskName: string;
  /** When the run began (epoch ms); absent while it holds its slots but has not begun (its `shouldExecute` is asked). */
  since?: number;
}

/** The last run a group's `shouldExecute` refused (it was skipped: its trigger resolved `undefined`). */
export interface IShouldExecuteRefusal {
  taskName: string;
  runId: string;
  /** When it was refused (epoch ms). */
  at: number;
}

/** The key of a run is held to its limit of one: `holders` run now. */
export interface IWaitHeld {
  kind: 'held';
  groupName: string;
  key: string;
  holders: IKeyHolder[];
}

/** The key of a run has all of its `max` slots taken (`maxConcurrent` over one). */
export interface IWaitCap {
  kind: 'cap';
  groupName: string;
  key: string;
  running: number;
  max: number;
  holders: IKeyHolder[];
}

/** The key has a free slot but its cooldown has not passed. */
export interface IWaitCooldown {
  kind: 'cooldown';
  groupName: string;
  key: string;
  remainingMs: number;
}

/** The key has room, and earlier waiters of it go first (a moment's wait: they are starting). */
export interface IWaitQueued {
  kind: 'queued';
  groupName: string;
  key: string;
}

/** A constraint group that applies to the run is paused. */
export interface IWaitGroupPaused {
  kind: 'group-paused';
  groupName: string;
}

/** The run's task is paused. */
export interface IWaitTaskPaused {
  kind: 'task-paused';
}

/** The run holds its local slots and waits for a slot of a `scope: 'cluster'` group. */
export interface IWaitClusterSlot {
  kind: 'cluster-slot';
  groupName: string;
  key: string;
}

/** The run holds its slots and a group's `shouldExecute` is being asked (it returned a promise). */
export interface IWaitShouldExecute {
  kind: 'should-execute';
}

/** Why a run waits; switch on `kind`. */
export type TWaitReason =
  | IWaitHeld
  | IWaitCap
  | IWaitCooldown
  | IWaitQueued
  | IWaitGroupPaused
  | IWaitTaskPaused
  | IWaitClusterSlot
  | IWaitShouldExecute;

/** A run of a manager that was triggered and has not begun, as `getWaitingRuns()` reports it. */
export interface IWaitingRunInfo {
  taskName: string;
  /**
   * The run's id: the trigger's `runId` option, or the id of a retry waiting for its
   * slots again. Absent for a trigger without one: its id is made when it begins (making
   * ids for every waiting trigger would cost each trigger something).
   */
  runId?: string;
  /** The trigger's priority, else the task's. */
  priority: number;
  /** Runs before it in the same line (0: next to start there). */
  ahead: number;
  /** A retry (its run began before) waiting for its slots again. */
  retry: boolean;
  reason: TWaitReason;
}
