import type { Subject } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import type { IConstraintGroupEvent } from '../events.js';
import { timeNow } from '../internal/clock.js';
import type { AnyGroup } from './constraintgroup.js';
import type { IConstraintGroupState } from './manageroptions.js';
import type { RunQueue } from './runqueue.js';

/**
 * The constraint groups of a TaskManager: registering and removing them, their states for
 * dashboards, and pausing them. The array of groups is replaced on every change, never
 * changed in place, so that runs can share it (see RunQueue).
 */
export class GroupRegistry {
  private current: ReadonlyArray<AnyGroup> = [];
  private readonly capacityListeners = new Map<AnyGroup, () => void>();

  constructor(
    private readonly runQueue: () => RunQueue,
    private readonly events: Subject<IConstraintGroupEvent>,
    /** Whether the manager's coordinator offers cluster slots, which `scope: 'cluster'` groups need. */
    private readonly hasClusterSlots: () => boolean,
  ) {}

  /** The registered groups, in the order they were added. */
  get groups(): ReadonlyArray<AnyGroup> {
    return this.current;
  }

  add(group: AnyGroup): void {
    if (this.current.includes(group)) return;
    if (group.scope === 'cluster' && !this.hasClusterSlots()) {
      throw new InvalidOptionError('scope', 'cluster',
        `addConstraintGroup: group ${JSON.stringify(group.name)} has scope 'cluster', which needs a TaskManager ` +
        `whose distributedCoordinator offers cluster slots (e.g. RedisCoordinator from 'taskbuffer/redis')`);
    }
    if (this.current.some((g) => g.name === group.name)) {
      throw new InvalidOptionError('name', group.name,
        `addConstraintGroup: a constraint group named ${JSON.stringify(group.name)} is already registered`);
    }
    this.current = [...this.current, group];
    // Slots released or reset by hand (outside the manager) can let waiting runs start.
    this.capacityListeners.set(group, group.onCapacity((g, key) => this.runQueue().wake(g, key)));
  }

  /** `true` when a group of that name was registered. */
  remove(name: string): boolean {
    const group = this.current.find((g) => g.name === name);
    if (group === undefined) return false;
    this.current = this.current.filter((g) => g !== group);
    this.capacityListeners.get(group)?.();
    this.capacityListeners.delete(group);
    this.runQueue().forgetGroup(group);
    return true;
  }

  states(): IConstraintGroupState[] {
    const queue = this.runQueue();
    const insight = queue.insight();
    return this.current.map((group) => {
      const waiting = queue.waitingByKey(group);
      const keys = group.getKeyStates().map((state) => ({
        ...state,
        waiting: waiting.get(state.key) ?? 0,
        holders: insight.holdersOf(group, state.key),
      }));
      // A set, not a search per key: a busy group has a thousand keys, and dashboards ask every frame.
      const listed = new Set(keys.map((k) => k.key));
      for (const [key, count] of waiting) {
        if (!listed.has(key)) keys.push({ key, running: 0, waiting: count, cooldownRemainingMs: 0, holders: [] });
      }
      const state: IConstraintGroupState = {
        name: group.name,
        maxConcurrent: group.maxConcurrent,
        cooldownMs: group.cooldownMs,
        paused: queue.isPaused(group),
        keys,
      };
      const lastRefusal = queue.lastRefusalOf(group);
      if (lastRefusal !== undefined) state.lastRefusal = { ...lastRefusal };
      return state;
    });
  }

  pause(name: string): void {
    const group = this.require(name, 'pauseConstraintGroup');
    const queue = this.runQueue();
    if (queue.isPaused(group)) return;
    queue.pauseGroup(group);
    this.emit('paused', group);
  }

  resume(name: string): void {
    const group = this.require(name, 'resumeConstraintGroup');
    const queue = this.runQueue();
    if (!queue.isPaused(group)) return;
    queue.resume(group);
    this.emit('resumed', group);
  }

  private require(name: string, action: string): AnyGroup {
    const group = this.current.find((g) => g.name === name);
    if (group === undefined) {
      throw new InvalidOptionError('name', name, `${action}: no constraint group named ${JSON.stringify(name)} is registered`);
    }
    return group;
  }

  private emit(type: IConstraintGroupEvent['type'], group: AnyGroup): void {
    if (this.events.observed) this.events.next({ scope: 'group', type, groupName: group.name, timestamp: timeNow() });
  }
}
