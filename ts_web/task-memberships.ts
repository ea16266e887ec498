import type { TaskManager } from 'taskbuffer';

/** A constraint group that applies to a task, and the key it gives the task's runs. */
export interface IMembership {
  group: string;
  key: string;
}

/**
 * Which constraint groups apply to which task, for `group:` and `key:` searches. Asks each
 * group for the key of a run without input (`getConstraintKey(task)`), once per task until
 * `invalidate()`: key functions are the user's code, so they are not called per frame. A key
 * function that needs an input, or throws, counts as "does not apply".
 */
export class TaskMemberships {
  private readonly cache = new Map<string, IMembership[]>();
  private manager: TaskManager | undefined;

  /** Forgets what was asked (call it when tasks or groups may have changed). */
  invalidate(manager: TaskManager | undefined): void {
    this.manager = manager;
    this.cache.clear();
  }

  /** The groups that apply to the task named `name`. */
  of(name: string): IMembership[] {
    const known = this.cache.get(name);
    if (known !== undefined) return known;
    const found = this.ask(name);
    this.cache.set(name, found);
    return found;
  }

  private ask(name: string): IMembership[] {
    const manager = this.manager;
    const task = manager?.getTaskByName(name);
    if (manager === undefined || task === undefined) return [];
    const found: IMembership[] = [];
    for (const group of manager.constraintGroups ?? []) {
      try {
        const key = group.getConstraintKey(task);
        if (key !== null) found.push({ group: group.name, key });
      } catch {
        // Needs an input, or is broken: the dashboard cannot tell, so it does not claim membership.
      }
    }
    return found;
  }
}
