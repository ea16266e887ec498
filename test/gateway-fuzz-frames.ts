/**
 * fast-check arbitraries for test/gateway.fuzz.test.ts (not a test file): what a hostile
 * or broken client sends a gateway. A frame is made when it is sent, so that it can name
 * the ids the connection has seen (run ids from events, work ids it was given).
 */
import fc from 'fast-check';

/** What a frame may refer to: ids the connection saw so far. */
export interface IFuzzContext {
  nextId(): number;
  /** A run id for a trigger of this connection: within its runPrefix once authenticated, as the protocol wants. */
  nextRunId(id: number): string;
  runIds: string[];
  workIds: number[];
}

/** One frame to send: text (JSON or not) or binary. */
export type TFuzzFrame = { text: string } | { binary: Uint8Array };

/** Whether the frame may get no answer (a well-formed report on work: the protocol answers none). */
export type TMadeFrame = TFuzzFrame & { silent?: boolean };

type TMaker = (context: IFuzzContext) => TMadeFrame;

/** `make`, shown as `what` in a counterexample (not as its source). */
const named = (what: string, make: TMaker): TMaker => Object.assign(make, { [fc.toStringMethod]: () => what });
const short = (value: unknown): string => (JSON.stringify(value) ?? 'undefined').slice(0, 80);

const pick = <T>(items: readonly T[], index: number, fallback: T): T => (items.length === 0 ? fallback : items[index % items.length]!);

/** Well-formed frames of every type (some refused by scope or state, as a client's would be). */
function template(kind: number, context: IFuzzContext, n: number, input: unknown): Record<string, unknown> {
  const id = context.nextId();
  const runId = pick(context.runIds, n, `no-such-run-${n}`);
  const workId = pick(context.workIds, n, 1_000_000 + n);
  const templates: Array<() => Record<string, unknown>> = [
    () => ({ type: 'list', id }),
    () => ({ type: 'groups', id }),
    () => ({ type: 'runs', id }),
    () => ({ type: 'subscribe', id, sub: n, filter: n % 2 === 0 ? {} : { taskName: 'echo' } }),
    () => ({ type: 'unsubscribe', id, sub: n }),
    () => ({ type: 'trigger', id, runId: context.nextRunId(id), taskName: n % 3 === 0 ? 'slow' : 'echo', input }),
    () => ({ type: 'trigger', id, runId: context.nextRunId(id), taskName: `fuzz:${n % 3}`, input, timeoutMs: 200 }),
    () => ({ type: 'watch', id, runId }),
    () => ({ type: 'unwatch', id, runId }),
    () => ({ type: 'abort', id, runId, reason: 'fuzz' }),
    () => ({ type: 'pauseTask', id, taskName: n % 2 === 0 ? 'echo' : `fuzz:${n % 3}` }),
    () => ({ type: 'resumeTask', id, taskName: `fuzz:${n % 3}` }),
    () => ({ type: 'pauseGroup', id, groupName: 'no-such-group' }),
    () => ({ type: 'resumeGroup', id, groupName: 'no-such-group' }),
    () => ({ type: 'serve', id, taskName: n % 4 === 0 ? 'echo' : `fuzz:${n % 3}`, concurrency: 1 + (n % 3) }),
    () => ({ type: 'unserve', id, taskName: `fuzz:${n % 3}` }),
    () => ({ type: 'enqueue', id, taskName: 'echo', input }),
    () => ({ type: 'auth', id, name: 'fuzzer', key: 'not the key' }),
    () => ({ type: 'workUpdate', workId, payload: input }),
    () => ({ type: 'workDone', workId, ok: true, value: input }),
    () => ({ type: 'workDone', workId, ok: false, error: { name: 'FuzzError', message: String(n) } }),
  ];
  return templates[kind % templates.length]!();
}

const jsonInput = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ n: fc.integer() }));

/** A well-formed frame of some type. */
const wellFormed: fc.Arbitrary<TMaker> = fc.tuple(fc.nat(), fc.nat(), jsonInput).map(([kind, n, input]) => named(`wellFormed(${kind}, ${n}, ${short(input)})`, (context) => {
  const frame = template(kind, context, n, input);
  return { text: JSON.stringify(frame), silent: frame.type === 'workUpdate' || frame.type === 'workDone' };
}));

/** A well-formed frame with one field dropped, replaced by a value of another type, or added; or its type changed. */
const mutated: fc.Arbitrary<TMaker> = fc
  .tuple(fc.nat(), fc.nat(), jsonInput, fc.nat(), fc.constantFrom('drop', 'replace', 'add', 'retype', 'proto'), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 12 }))
  .map(([kind, n, input, field, how, value, name]) => named(`mutated(${kind}, ${n}, ${short(input)}, ${field}, ${how}, ${short(value)}, ${short(name)})`, (context) => {
    const frame = template(kind, context, n, input);
    const keys = Object.keys(frame);
    const key = keys[field % keys.length]!;
    if (how === 'drop') delete frame[key];
    else if (how === 'replace') frame[key] = value;
    else if (how === 'add') frame[name === 'type' ? 'extra' : name] = value;
    else if (how === 'retype') frame.type = name;
    else return { text: JSON.stringify(frame).replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},') };
    // A mutation that left a work report well-formed gets no answer, as any work report.
    return { text: JSON.stringify(frame), silent: frame.type === 'workUpdate' || frame.type === 'workDone' };
  }));

const anyJson: fc.Arbitrary<TMaker> = fc.jsonValue({ maxDepth: 4 }).map((value) => named(`json(${short(value)})`, () => ({ text: JSON.stringify(value) ?? 'null' })));

const unknownType: fc.Arbitrary<TMaker> = fc
  .tuple(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'toString', 'constructor', 'hasOwnProperty', 'reply', 'event', 'work')), fc.jsonValue({ maxDepth: 2 }))
  .map(([type, extra]) => named(`unknownType(${short(type)})`, (context) => ({ text: JSON.stringify({ type, id: context.nextId(), extra }) })));

const binary: fc.Arbitrary<TMaker> = fc.uint8Array({ maxLength: 512 }).map((bytes) => named(`binary(${bytes.length} bytes)`, () => ({ binary: bytes })));

const truncated: fc.Arbitrary<TMaker> = fc.tuple(wellFormed, fc.nat()).map(([make, cut]) => named(`truncated(${String((make as unknown as Record<symbol, () => string>)[fc.toStringMethod]?.())}, ${cut})`, (context) => {
  const made = make(context);
  const text = 'text' in made ? made.text : '{';
  return { text: text.slice(0, cut % Math.max(1, text.length - 1)) };
}));

const garbage: fc.Arbitrary<TMaker> = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })).map((text) => named(`garbage(${short(text)})`, () => ({ text })));

/** Arrays or objects nested `depth` deep, bare or as a trigger's input (within maxPayloadBytes). */
const deep: fc.Arbitrary<TMaker> = fc.tuple(fc.integer({ min: 1_000, max: 20_000 }), fc.constantFrom('array', 'object', 'input', 'payload')).map(([depth, where]) => named(`deep(${depth}, ${where})`, (context) => {
  const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (where === 'array') return { text: arrays };
  if (where === 'object') return { text: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` };
  if (where === 'input') {
    const id = context.nextId();
    return { text: `{"type":"trigger","id":${id},"runId":${JSON.stringify(context.nextRunId(id))},"taskName":"echo","input":${arrays}}` };
  }
  return { text: `{"type":"workUpdate","workId":${pick(context.workIds, depth, 1)},"payload":${arrays}}`, silent: true };
}));

/** Any frame a broken or hostile client might send (within maxPayloadBytes). */
export const fuzzFrame: fc.Arbitrary<TMaker> = fc.oneof(
  { arbitrary: wellFormed, weight: 8 },
  { arbitrary: mutated, weight: 6 },
  { arbitrary: anyJson, weight: 2 },
  { arbitrary: unknownType, weight: 2 },
  { arbitrary: binary, weight: 1 },
  { arbitrary: truncated, weight: 2 },
  { arbitrary: garbage, weight: 1 },
  { arbitrary: deep, weight: 1 },
);

/** How a fuzzing connection behaves. */
export type TSessionKind = 'authenticated' | 'before-auth' | 'wrong-key' | 'huge';

export interface IFuzzSession {
  kind: TSessionKind;
  frames: TMaker[];
  /** For wrong-key: the key it tries (contains a marker that must never come back). */
  keyTail: string;
  /** For huge: the frame's size beyond maxPayloadBytes, and whether it is binary. */
  extraBytes: number;
  hugeBinary: boolean;
  /** For authenticated: whether it serves the tasks fuzz:0..2 first, and how it answers each work it gets, in turn. */
  serves: boolean;
  answers: TWorkAnswer[];
}

/** How a serving fuzzer answers a work frame: not at all, done, failed, with updates first, or twice. */
export type TWorkAnswer = 'ignore' | 'done' | 'fail' | 'update-then-done' | 'done-twice';

export const fuzzSession: fc.Arbitrary<IFuzzSession> = fc.record({
  kind: fc.constantFrom<TSessionKind>('authenticated', 'authenticated', 'authenticated', 'before-auth', 'wrong-key', 'huge'),
  frames: fc.array(fuzzFrame, { minLength: 1, maxLength: 40, size: 'max' }),
  keyTail: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 1_020, maxLength: 2_000 })),
  extraBytes: fc.integer({ min: 1, max: 100_000 }),
  hugeBinary: fc.boolean(),
  serves: fc.boolean(),
  answers: fc.array(fc.constantFrom<TWorkAnswer>('ignore', 'done', 'fail', 'update-then-done', 'done-twice'), { minLength: 1, maxLength: 8 }),
});
