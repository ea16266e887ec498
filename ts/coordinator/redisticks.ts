import type { IDistributedTaskRequest, IDistributedTaskRequestResult } from './abstract.js';
import type { ICoordinatorContext } from './redisconnection.js';

/** A tick this instance claimed: its lease (renewed while the run lasts) and where its outcome goes. */
interface IHeldTick {
  leaseKey: string;
  doneKey: string;
}

/** A finished tick is remembered this long at least, so that instances whose clocks run behind skip it. */
const MIN_DONE_TTL_MS = 60_000;

/**
 * Cron tick election. Every instance fires the same tick (task name + scheduled time);
 * the first to claim it in Redis runs it and holds its lease until it records the
 * outcome, and the others watch that lease until the tick is done or its owner died.
 */
export class RedisTicks {
  /** Ticks claimed here and not finished yet: lease key → tick. */
  private readonly held = new Map<string, IHeldTick>();
  /** Claims pausing between two looks at another instance's lease; stop() wakes them. */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly context: ICoordinatorContext) {}

  /** Whether a tick claimed here still runs (after stop(), the connections stay open until none does). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /**
   * `fireDistributedTaskRequest`: answers yes to the first claim of a tick; another
   * instance looks at the owner's lease every half lease until the tick is done (no) or
   * the lease lapsed (it claims the tick: yes). A failed claim is reported and tried again
   * after at most a second; stop() ends the wait with a no.
   */
  async claim(request: IDistributedTaskRequest): Promise<IDistributedTaskRequestResult> {
    const { keys, leaseMs } = this.context;
    const tick: IHeldTick = { leaseKey: keys.tickLease(request.taskName, request.scheduledAt), doneKey: keys.tickDone(request.taskName, request.scheduledAt) };
    let watched = false;
    while (this.context.isRunning()) {
      const state = await this.tryClaim(request, tick);
      if (state === undefined) {
        await this.sleep(Math.min(1000, leaseMs));
        continue;
      }
      if (state === 'claimed') {
        this.held.set(tick.leaseKey, tick);
        return { ...request, shouldTrigger: true, considered: true, rank: 1, reason: watched ? 'took over from an instance that stopped renewing' : 'elected' };
      }
      if (state === 'done') return { ...request, shouldTrigger: false, considered: true, rank: 2, reason: 'another instance ran this tick' };
      watched = true;
      await this.sleep(Math.max(50, Math.floor(leaseMs / 2)));
    }
    return { ...request, shouldTrigger: false, considered: false, rank: 0, reason: 'the coordinator was stopped' };
  }

  /** Records the tick's outcome (once: only its owner's report counts) and lets its lease go. */
  async finish(request: IDistributedTaskRequest): Promise<void> {
    if (request.status === 'requesting') return;
    const { connection, keys, instanceId, leaseMs } = this.context;
    const leaseKey = keys.tickLease(request.taskName, request.scheduledAt);
    const tick = this.held.get(leaseKey);
    if (tick === undefined) return;
    this.held.delete(leaseKey);
    const outcome = JSON.stringify({ status: request.status, instanceId, finishedAt: request.finishedAt ?? Date.now(), error: request.error });
    try {
      await connection.call('finishTick', [tick.leaseKey, tick.doneKey], [instanceId, outcome, Math.max(MIN_DONE_TTL_MS, 10 * leaseMs)]);
    } finally {
      this.context.letGo();
    }
  }

  /** Renews the lease of every tick held here (re-asserting it after a Redis restart). */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const { connection, instanceId, leaseMs } = this.context;
    const args: string[] = [];
    for (const tick of this.held.values()) args.push(tick.leaseKey, tick.doneKey);
    await connection.call('renewTicks', [], [instanceId, leaseMs, ...args]);
  }

  /** On stop(): pausing claims look again at once, see that the coordinator stopped, and answer. */
  wakeClaims(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** `claimed`, `held` or `done` (redis.lua.ts), or `undefined` when Redis could not be asked (reported). */
  private async tryClaim(request: IDistributedTaskRequest, tick: IHeldTick): Promise<string | undefined> {
    const { connection, instanceId, leaseMs } = this.context;
    try {
      return String(await connection.call('claimTick', [tick.leaseKey, tick.doneKey], [instanceId, leaseMs]));
    } catch (error) {
      connection.report(error, `could not claim the tick of task ${JSON.stringify(request.taskName)} at ${new Date(request.scheduledAt).toISOString()} (retrying)`);
      return undefined;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
