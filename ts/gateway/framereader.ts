import { JOB_STATES } from '../jobqueue/jobrecord.js';
import type { TClientFrame } from '../remote/protocol.js';

/** Longest name, id or reason a frame may carry: longer ones are refused, not truncated. */
const MAX_TEXT = 1024;
/**
 * Deepest nesting a frame may have. Whatever walks a payload later (the JSON-safety check,
 * JSON.stringify for every watcher) recurses once per level: a frame deep enough to run
 * one of them out of stack is refused here, where it is cheap and certain.
 */
export const MAX_DEPTH = 128;

/** A frame that was refused, with what was wrong in words, and its `id` when it had a usable one. */
export interface IBadFrame {
  bad: string;
  id: number | undefined;
}

type TFieldCheck = (value: unknown) => string | undefined;

const isId = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

const id: TFieldCheck = (value) => (isId(value) ? undefined : 'a non-negative integer');
const text: TFieldCheck = (value) =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT ? undefined : `a non-empty string of at most ${MAX_TEXT} characters`;
/** A key: checked as `text`, but what was sent is never repeated in the refusal (see checkFields). */
const secret: TFieldCheck = (value) => text(value);
const optional = (check: TFieldCheck): TFieldCheck => (value) => (value === undefined ? undefined : check(value));
const nonNegative: TFieldCheck = (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : 'a finite number >= 0');
const finite: TFieldCheck = (value) => (typeof value === 'number' && Number.isFinite(value) ? undefined : 'a finite number');
const anything: TFieldCheck = () => undefined;
const boolean: TFieldCheck = (value) => (typeof value === 'boolean' ? undefined : 'true or false');
const concurrency: TFieldCheck = (value) => (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 10_000 ? undefined : 'an integer from 1 to 10000');

const count: TFieldCheck = (value) => (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 1000 ? undefined : 'an integer from 1 to 1000');
const jobState: TFieldCheck = (value) => (typeof value === 'string' && (JOB_STATES as readonly string[]).includes(value) ? undefined : `one of ${JOB_STATES.join(', ')}`);

const stringRecord: TFieldCheck = (value) => {
  if (!isPlainObject(value)) return 'an object of strings';
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string' || entry.length > MAX_TEXT || key.length > MAX_TEXT) return 'an object of strings';
  }
  return undefined;
};

const filter: TFieldCheck = (value) => {
  if (!isPlainObject(value)) return 'an object { taskName?, labels? }';
  return checkFields(value, { taskName: optional(text), labels: optional(stringRecord) });
};

const jobOptions: TFieldCheck = (value) => {
  if (!isPlainObject(value)) return 'an object { jobId?, delayMs?, priority?, timeoutMs?, labels? }';
  return checkFields(value, { jobId: optional(text), delayMs: optional(nonNegative), priority: optional(finite), timeoutMs: optional(nonNegative), labels: optional(stringRecord) });
};

const wireError: TFieldCheck = (value) => {
  if (!isPlainObject(value)) return 'an object { name, message, code? }';
  return checkFields(value, { name: text, message: (v) => (typeof v === 'string' ? undefined : 'a string'), code: optional(text) });
};

/** Per frame type, its fields and what each must be; any other field is refused. */
const SHAPES: Record<TClientFrame['type'], Record<string, TFieldCheck>> = {
  auth: { id, name: text, key: secret },
  list: { id },
  groups: { id },
  runs: { id },
  waiting: { id, limit: optional(count) },
  instances: { id },
  subscribe: { id, sub: id, filter },
  unsubscribe: { id, sub: id },
  trigger: { id, runId: text, taskName: text, input: anything, timeoutMs: optional(nonNegative), priority: optional(finite), events: optional(boolean) },
  watch: { id, runId: text },
  unwatch: { id, runId: text },
  abort: { id, runId: text, reason: optional(text) },
  pauseTask: { id, taskName: text },
  resumeTask: { id, taskName: text },
  pauseGroup: { id, groupName: text },
  resumeGroup: { id, groupName: text },
  serve: { id, taskName: text, concurrency },
  unserve: { id, taskName: text },
  enqueue: { id, taskName: text, input: anything, options: optional(jobOptions) },
  queueCounts: { id },
  queueJobs: { id, state: jobState, limit: optional(count), after: optional(text) },
  queueJob: { id, jobId: text },
  queueCancel: { id, jobId: text, reason: optional(text) },
  queueRetry: { id, jobId: text },
  workUpdate: { workId: id, payload: anything },
  workDone: { workId: id, ok: boolean, value: anything, error: optional(wireError) },
};

/**
 * Reads one websocket message as a client frame, or says what is wrong with it. Never
 * throws: whatever a client sends (binary, not JSON, nested too deep for the parser, an
 * unknown type, fields of the wrong type) becomes an IBadFrame.
 */
export function readClientFrame(data: unknown, isBinary: boolean): TClientFrame | IBadFrame {
  if (isBinary) return { bad: 'binary frames are not part of the protocol; send JSON text', id: undefined };
  const text = String(data);
  if (nestingOver(text, MAX_DEPTH)) return { bad: `the frame nests arrays and objects deeper than ${MAX_DEPTH} levels`, id: undefined };
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    return { bad: `the frame is not JSON (${error instanceof Error ? error.message : 'unreadable'})`, id: undefined };
  }
  if (!isPlainObject(frame)) return { bad: 'a frame must be a JSON object with a `type`', id: undefined };
  const frameId = isId(frame.id) ? (frame.id as number) : undefined;
  const type = frame.type;
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) {
    return { bad: `unknown frame type ${describe(type)} (known: ${Object.keys(SHAPES).join(', ')})`, id: frameId };
  }
  const problem = checkFields(frame, SHAPES[type as TClientFrame['type']]);
  if (problem !== undefined) return { bad: `${type}: ${problem}`, id: frameId };
  if (type === 'workDone' && frame.ok === false && frame.error === undefined) return { bad: 'workDone: `error` is required when `ok` is false', id: frameId };
  return frame as unknown as TClientFrame;
}

/** Whether `json` nests arrays and objects deeper than `max`, counting brackets outside strings. */
export function nestingOver(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > max) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}

export function isBadFrame(frame: TClientFrame | IBadFrame): frame is IBadFrame {
  return (frame as IBadFrame).bad !== undefined;
}

function checkFields(frame: Record<string, unknown>, shape: Record<string, TFieldCheck>): string | undefined {
  for (const key of Object.keys(frame)) {
    if (key !== 'type' && !Object.hasOwn(shape, key)) return `unknown field ${describe(key)}`;
  }
  for (const [key, check] of Object.entries(shape)) {
    const problem = check(frame[key]);
    if (problem !== undefined) return `\`${key}\` must be ${problem}, got ${check === secret ? `a ${typeof frame[key]} (a key is never repeated)` : describe(frame[key])}`;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a value for an error frame: never the whole of a huge one. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let json: string;
  try {
    json = JSON.stringify(value) ?? typeof value;
  } catch {
    json = typeof value;
  }
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
