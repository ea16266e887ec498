import type { IKeyHolder, IShouldExecuteRefusal, IWaitingRunInfo, TWaitReason } from 'taskbuffer';
import { formatDuration } from './format.js';

/**
 * Why a run waits, in words: the core says it as data (`TWaitReason`), the dashboard says
 * it to people. `now` is the page's clock (epoch ms), for "for how long".
 */
export function describeWait(reason: TWaitReason, now: number): string {
  switch (reason.kind) {
    case 'held':
      return reason.holders.length === 0 ? `held (slot taken by hand) on ${reason.key}` : `held by ${describeHolders(reason.holders, now)}`;
    case 'cap':
      return `cap ${reason.running}/${reason.max} reached on ${reason.key}`;
    case 'cooldown':
      return `cooldown ${formatDuration(reason.remainingMs)}`;
    case 'queued':
      return `next in line for ${reason.key}`;
    case 'group-paused':
      return `group ${reason.groupName} paused`;
    case 'task-paused':
      return 'task paused';
    case 'cluster-slot':
      return `waiting for a cluster slot of ${reason.groupName} (${reason.key})`;
    case 'should-execute':
      return 'shouldExecute is deciding';
    default:
      // A kind a newer core knows and this dashboard does not yet: say what we can.
      return `waiting (${String((reason as { kind?: unknown }).kind)})`;
  }
}

/** `run 42 of sync-acme for 3.2 s`, and `+ 2 more` beyond the first. */
export function describeHolders(holders: readonly IKeyHolder[], now: number): string {
  const [first] = holders;
  if (first === undefined) return 'nobody';
  const more = holders.length > 1 ? ` + ${holders.length - 1} more` : '';
  return `${describeHolder(first, now)}${more}`;
}

export function describeHolder(holder: IKeyHolder, now: number): string {
  const since = holder.since === undefined ? ' (starting)' : ` for ${formatDuration(now - holder.since)}`;
  return `run ${holder.runId} of ${holder.taskName}${since}`;
}

/** One waiting run: `sync-acme (run 7, 2nd in line): held by run 42 of sync-acme for 3 s`. */
export function describeWaitingRun(info: IWaitingRunInfo, now: number): string {
  const facts = [info.runId === undefined ? undefined : `run ${info.runId}`, info.retry ? 'retry' : undefined,
    info.ahead > 0 ? `${info.ahead} ahead` : undefined].filter((fact) => fact !== undefined);
  return `${info.taskName}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}: ${describeWait(info.reason, now)}`;
}

/** `shouldExecute said no to run 7 of charge, 3 s ago`. */
export function describeRefusal(refusal: IShouldExecuteRefusal, now: number): string {
  return `shouldExecute said no to run ${refusal.runId} of ${refusal.taskName}, ${formatDuration(now - refusal.at)} ago`;
}
