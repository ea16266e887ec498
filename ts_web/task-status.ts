import type { ITaskMetadata } from 'taskbuffer';

/** The statuses the core reports today; the toolbar always offers them. */
export const KNOWN_STATUSES = ['idle', 'running', 'completed', 'failed'] as const;

/** The status as a string; a status the core adds later is shown as it comes. */
export function statusOf(metadata: ITaskMetadata): string {
  const status: unknown = metadata.status;
  return typeof status === 'string' && status !== '' ? status : 'idle';
}
