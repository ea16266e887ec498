/**
 * The floor of the constraint-group cases: the least a queue that hands out one promise
 * per trigger can do. A cap keeps one FIFO of waiting resolvers; a per-key mutex keeps a
 * Map of such FIFOs. No priorities, cooldowns, pause, abort, events or bookkeeping: no
 * library should ship this, but whatever it costs in a case (and however its cost grows
 * with the queue) is what the runtime itself charges, not the design under test.
 */

type Job = () => Promise<number>;

interface IWaiter {
  job: Job;
  resolve: (value: number) => void;
  reject: (reason: unknown) => void;
}

/** A FIFO of waiters that drops its spent front now and then instead of shifting. */
class WaiterFifo {
  private items: Array<IWaiter | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(waiter: IWaiter): void {
    this.items.push(waiter);
  }

  shift(): IWaiter | undefined {
    if (this.head === this.items.length) return undefined;
    const waiter = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return waiter;
  }
}

/** At most `concurrency` jobs at once, the rest in trigger order. */
export function bareLimit(concurrency: number): (job: Job) => Promise<number> {
  const waiting = new WaiterFifo();
  let active = 0;
  const start = (waiter: IWaiter): void => {
    waiter.job().then(
      (value) => { waiter.resolve(value); next(); },
      (error: unknown) => { waiter.reject(error); next(); },
    );
  };
  const next = (): void => {
    const waiter = waiting.shift();
    if (waiter === undefined) active--;
    else start(waiter);
  };
  return (job) => new Promise<number>((resolve, reject) => {
    const waiter = { job, resolve, reject };
    if (active < concurrency) {
      active++;
      start(waiter);
    } else {
      waiting.push(waiter);
    }
  });
}

/** One job per key at once; a key's jobs in trigger order. Idle keys are forgotten. */
export function bareKeyedMutex(): (key: string, job: Job) => Promise<number> {
  const busy = new Map<string, WaiterFifo>();
  const start = (key: string, waiter: IWaiter): void => {
    waiter.job().then(
      (value) => { waiter.resolve(value); next(key); },
      (error: unknown) => { waiter.reject(error); next(key); },
    );
  };
  const next = (key: string): void => {
    const line = busy.get(key)!;
    const waiter = line.shift();
    if (waiter === undefined) busy.delete(key);
    else start(key, waiter);
  };
  return (key, job) => new Promise<number>((resolve, reject) => {
    const waiter = { job, resolve, reject };
    const line = busy.get(key);
    if (line !== undefined) return line.push(waiter);
    busy.set(key, new WaiterFifo());
    start(key, waiter);
  });
}
