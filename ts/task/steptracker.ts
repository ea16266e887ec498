import { UnknownStepError } from '../errors.js';
import { TaskStep } from './taskstep.js';
import type { ITaskStep, ITaskStepDefinition } from '../types.js';
import { assertArray, assertNonEmptyString, assertNonNegativeFinite, assertString } from '../internal/validate.js';
import { InvalidOptionError } from '../errors.js';

/**
 * The steps of one task and the progress they add up to. A task with no steps reports
 * progress 0 until a run succeeds, then 100.
 */
export class StepTracker {
  private readonly steps: TaskStep[];
  private readonly byName = new Map<string, TaskStep>();
  private active: TaskStep | undefined;
  private finished = false;

  constructor(owner: string, definitions: ReadonlyArray<ITaskStepDefinition> | undefined) {
    this.steps = definitions === undefined ? [] : StepTracker.validate(owner, definitions).map((d) => new TaskStep(d));
    for (const step of this.steps) this.byName.set(step.name, step);
  }

  get hasSteps(): boolean {
    return this.steps.length > 0;
  }

  get currentStepName(): string | undefined {
    return this.active?.name;
  }

  get names(): string[] {
    return this.steps.map((s) => s.name);
  }

  /** Completes the active step and makes `name` the active one. */
  notify(taskName: string | undefined, name: string, now: number): void {
    const step = this.byName.get(name);
    if (step === undefined) throw new UnknownStepError(taskName, String(name), this.names);
    if (this.active !== undefined && this.active !== step) this.active.complete(now);
    step.start(now);
    this.active = step;
  }

  /** Marks one step active (`ended` false) or completed without touching the others (steps side by side). */
  mark(name: string, ended: boolean, now: number): void {
    const step = this.byName.get(name);
    if (step === undefined) return;
    if (ended) {
      step.complete(now);
      if (this.active === step) this.active = undefined;
    } else {
      step.start(now);
      this.active = step;
    }
  }

  reset(): void {
    for (const step of this.steps) step.reset();
    this.active = undefined;
    this.finished = false;
  }

  /** A successful run marks every step completed and progress 100. */
  completeAll(now: number): void {
    for (const step of this.steps) step.complete(now);
    this.active = undefined;
    this.finished = true;
  }

  get progress(): number {
    if (this.finished) return 100;
    let sum = 0;
    for (const step of this.steps) if (step.status === 'completed') sum += step.percentage;
    return sum;
  }

  snapshot(): ITaskStep[] {
    return this.steps.map((s) => s.toJSON());
  }

  private static validate(owner: string, definitions: ReadonlyArray<ITaskStepDefinition>): ReadonlyArray<ITaskStepDefinition> {
    assertArray(owner, 'steps', definitions);
    const seen = new Set<string>();
    let total = 0;
    definitions.forEach((step, i) => {
      if (step === null || typeof step !== 'object') {
        throw new InvalidOptionError(`steps[${i}]`, step, `${owner}: expected \`steps[${i}]\` to be { name, description, percentage }, got ${String(step)}`);
      }
      assertNonEmptyString(owner, `steps[${i}].name`, step.name);
      assertString(owner, `steps[${i}].description`, step.description);
      assertNonNegativeFinite(owner, `steps[${i}].percentage`, step.percentage);
      if (step.percentage > 100) {
        throw new InvalidOptionError(`steps[${i}].percentage`, step.percentage,
          `${owner}: step ${JSON.stringify(step.name)} has percentage ${step.percentage}, outside 0–100`);
      }
      if (seen.has(step.name)) {
        throw new InvalidOptionError(`steps[${i}].name`, step.name, `${owner}: step name ${JSON.stringify(step.name)} is declared twice`);
      }
      seen.add(step.name);
      total += step.percentage;
    });
    if (total > 100 + 1e-9) {
      throw new InvalidOptionError('steps', total,
        `${owner}: step percentages sum to ${total}, more than 100 (${definitions.map((s) => `${s.name}: ${s.percentage}`).join(', ')})`);
    }
    return definitions;
  }
}
