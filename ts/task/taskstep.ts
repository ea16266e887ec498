import type { ITaskStep, ITaskStepDefinition, TStepStatus } from '../types.js';

/** One declared step of a task and its state in the current (or last) run. */
export class TaskStep {
  readonly name: string;
  readonly description: string;
  readonly percentage: number;
  status: TStepStatus = 'pending';
  startTime: number | undefined;
  endTime: number | undefined;

  constructor(definition: ITaskStepDefinition) {
    this.name = definition.name;
    this.description = definition.description;
    this.percentage = definition.percentage;
  }

  start(now: number): void {
    this.status = 'active';
    this.startTime = now;
    this.endTime = undefined;
  }

  complete(now: number): void {
    if (this.status === 'completed') return;
    this.status = 'completed';
    this.startTime ??= now;
    this.endTime = now;
  }

  reset(): void {
    this.status = 'pending';
    this.startTime = undefined;
    this.endTime = undefined;
  }

  toJSON(): ITaskStep {
    const step: ITaskStep = {
      name: this.name,
      description: this.description,
      percentage: this.percentage,
      status: this.status,
    };
    if (this.startTime !== undefined) step.startTime = this.startTime;
    if (this.endTime !== undefined) {
      step.endTime = this.endTime;
      step.duration = this.endTime - (this.startTime ?? this.endTime);
    }
    return step;
  }
}
