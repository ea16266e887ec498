import { InvalidOptionError } from '../errors.js';
import { assertNonEmptyString, assertOptionsObject, assertPositiveInteger, describeValue } from '../internal/validate.js';
import { findJsonProblem } from '../internal/jsonsafe.js';
import type { TClientFrame, TServerFrame } from '../remote/protocol.js';
import type { TRequestWithoutId } from './gatewaylink.js';
import { toWireError } from '../remote/remoteerrors.js';

/** What a served task's handler learns about the run it does. */
export interface IServeContext {
  /** Fires when the run is aborted at the gateway, times out, or the connection is lost. */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, ... */
  readonly attempt: number;
  /** The run's id, as its events at the gateway carry it. */
  readonly runId: string;
  /** Publishes a JSON-safe progress message as the run's `update` event at the gateway. */
  update(payload: unknown): void;
}

/** The function that does a served task's runs on the client's side. */
export type TServeHandler<TInput = any, TResult = unknown> = (input: TInput, context: IServeContext) => TResult | PromiseLike<TResult>;

/** Options of `client.serve`. */
export interface IServeOptions {
  /** How many runs of the task this client does at once. @default 1 */
  concurrency?: number;
}

interface IServed {
  handler: TServeHandler;
  concurrency: number;
}

type TWorkFrame = Extract<TServerFrame, { type: 'work' }>;

/**
 * The tasks a client serves and the runs it does for the gateway. Runs whose connection
 * was lost are aborted here: the gateway has failed them already (and may retry them on
 * another client).
 */
export class ServedHandlers {
  private readonly served = new Map<string, IServed>();
  private readonly running = new Map<number, AbortController>();

  constructor(private readonly send: (frame: TClientFrame) => boolean) {}

  /**
   * `client.serve`: checks the call, asks the gateway (`request`), and keeps the handler
   * once it accepted; the returned `stop()` stops serving (telling the gateway if connected).
   */
  async register(taskName: string, handler: TServeHandler, options: IServeOptions, request: (frame: TRequestWithoutId) => Promise<unknown>, isOpen: () => boolean): Promise<{ stop(): Promise<void> }> {
    assertNonEmptyString('TaskGatewayClient.serve', 'taskName', taskName);
    if (typeof handler !== 'function') throw new InvalidOptionError('handler', handler, `TaskGatewayClient.serve(${JSON.stringify(taskName)}): expected a handler function, got ${describeValue(handler)}`);
    assertOptionsObject('TaskGatewayClient.serve', options, ['concurrency']);
    const concurrency = options.concurrency ?? 1;
    assertPositiveInteger('TaskGatewayClient.serve', 'concurrency', concurrency);
    this.served.set(taskName, { handler, concurrency });
    try {
      await request({ type: 'serve', taskName, concurrency });
    } catch (error) {
      this.served.delete(taskName);
      throw error;
    }
    return {
      stop: async () => {
        if (this.served.delete(taskName) && isOpen()) await request({ type: 'unserve', taskName });
      },
    };
  }

  delete(taskName: string): boolean {
    return this.served.delete(taskName);
  }

  /** The served tasks, to serve again after a reconnect. */
  entries(): Array<[string, number]> {
    return [...this.served].map(([name, { concurrency }]) => [name, concurrency]);
  }

  /** A run the gateway hands over: the handler runs, and its outcome goes back. */
  work(frame: TWorkFrame): void {
    const served = this.served.get(frame.taskName);
    if (served === undefined) {
      this.send({ type: 'workDone', workId: frame.workId, ok: false, error: { name: 'Error', message: `this client does not serve ${JSON.stringify(frame.taskName)} any more` } });
      return;
    }
    const controller = new AbortController();
    this.running.set(frame.workId, controller);
    const context: IServeContext = {
      signal: controller.signal,
      attempt: frame.attempt,
      runId: frame.runId,
      update: (payload) => {
        const problem = findJsonProblem(payload, 'payload');
        if (problem !== undefined) {
          throw new InvalidOptionError('payload', problem.value, `update(payload) of task ${JSON.stringify(frame.taskName)}: ${problem.path} is ${problem.why}; an update must be JSON-safe`);
        }
        if (!controller.signal.aborted) this.send({ type: 'workUpdate', workId: frame.workId, payload });
      },
    };
    callHandler(served.handler, frame.input, context).then(
      (value) => this.finish(frame.workId, controller, () => doneFrame(frame.workId, value)),
      (error: unknown) => this.finish(frame.workId, controller, () => ({ type: 'workDone', workId: frame.workId, ok: false, error: toWireError(error) })),
    );
  }

  /** The gateway aborted the run (or gave up on it). */
  abort(workId: number, reason: string): void {
    const controller = this.running.get(workId);
    this.running.delete(workId);
    controller?.abort(new Error(reason));
  }

  /** The connection was lost: every run going on is aborted (the gateway failed them already). */
  abortAll(reason: string): void {
    for (const workId of [...this.running.keys()]) this.abort(workId, reason);
  }

  private finish(workId: number, controller: AbortController, frame: () => TClientFrame): void {
    // An aborted run's outcome is not wanted any more; the gateway has settled it.
    if (this.running.get(workId) !== controller) return;
    this.running.delete(workId);
    this.send(frame());
  }
}

function callHandler(handler: TServeHandler, input: unknown, context: IServeContext): Promise<unknown> {
  try {
    return Promise.resolve(handler(input, context));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A successful outcome, or an error in its place when the result cannot go as JSON unchanged. */
function doneFrame(workId: number, value: unknown): TClientFrame {
  const problem = value === undefined ? undefined : findJsonProblem(value, 'result');
  if (problem === undefined) return value === undefined ? { type: 'workDone', workId, ok: true } : { type: 'workDone', workId, ok: true, value };
  return { type: 'workDone', workId, ok: false, error: { name: 'TypeError', message: `the result is not JSON-safe: ${problem.path} is ${problem.why}` } };
}
