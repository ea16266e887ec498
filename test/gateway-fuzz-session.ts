/**
 * One fuzzing connection of test/gateway.fuzz.test.ts (not a test file): it connects,
 * sends what its session says, and reports what was wrong with the gateway's answers
 * (refusals without a code, frames that are not the server's, keys repeated, requests
 * left unanswered, close codes that are not the documented ones).
 */
import { MAX_DEPTH, nestingOver } from '../ts/gateway/framereader.js';
import { WebSocket } from 'ws';
import { CLOSE_CODES } from '../ts/gateway/index.js';
import type { IFuzzContext, IFuzzSession, TSessionKind, TWorkAnswer } from './gateway-fuzz-frames.js';
import { ADMIN, sendRaw } from './gateway-helpers.js';
import { waitFor, within } from './manager-helpers.js';

export const FUZZER = { name: 'fuzzer', key: 'fuzz-key-SECRET-MARKER' };
const MARKERS = ['SECRET-MARKER', ADMIN.key];
export const MAX_PAYLOAD = 128 * 1024;
export const MAX_BAD_FRAMES = 20;

/** Where each kind of session connects from: failed logins slow down only their own address. */
const FROM: Record<TSessionKind, string> = { authenticated: '127.0.0.1', 'before-auth': '127.0.0.3', 'wrong-key': '127.0.0.2', huge: '127.0.0.4' };
/** The close codes each kind may see (1000: we closed it ourselves). */
const CLOSES: Record<TSessionKind, number[]> = {
  authenticated: [1000, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  'before-auth': [CLOSE_CODES.AUTH_FAILED, CLOSE_CODES.AUTH_TIMEOUT, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  'wrong-key': [CLOSE_CODES.AUTH_FAILED, CLOSE_CODES.AUTH_TIMEOUT, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  huge: [CLOSE_CODES.TOO_BIG],
};
const SERVER_FRAME_TYPES = new Set(['reply', 'error', 'event', 'run', 'outcome', 'work', 'workAbort']);

/** Ids seen in any fuzzing connection's frames: later frames may name them (and try to abort others' runs). */
const seenRunIds: string[] = [];

/** Runs one fuzzing connection to its end; resolves with what was wrong with the gateway's behaviour (nothing, if all went well). */
export async function runSession(url: string, session: IFuzzSession, isRunGoingOn: (runId: string) => boolean = () => false): Promise<string[]> {
  const problems: string[] = [];
  const socket = new WebSocket(url, { localAddress: FROM[session.kind] });
  const frames: any[] = [];
  let lastId = 0;
  const replies = new Map<number, any>();
  /** The triggers sent, by request id: a refused one is answered by a reply, an accepted one by its outcome. */
  const triggers = new Map<number, string>();
  const outcomes = new Set<string>();
  const context: IFuzzContext = {
    nextId: () => ++lastId,
    nextRunId: (id) => `${replies.get(0)?.value?.runPrefix ?? 'unauthenticated-'}${id}`,
    runIds: seenRunIds,
    workIds: [],
  };
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  socket.on('error', () => {});
  socket.on('message', (data, isBinary) => {
    const text = String(data);
    for (const marker of MARKERS) if (text.includes(marker)) problems.push(`a frame repeated a key: ${text.slice(0, 200)}`);
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      return problems.push(`not JSON: ${text.slice(0, 100)}`);
    }
    if (isBinary || !SERVER_FRAME_TYPES.has(frame?.type)) problems.push(`not a server frame: ${text.slice(0, 200)}`);
    if ((frame.type === 'error' || (frame.type === 'reply' && !frame.ok)) && (typeof frame.error?.message !== 'string' || typeof frame.error?.code !== 'string')) {
      problems.push(`a refusal without a code and message: ${text.slice(0, 200)}`);
    }
    if (frame.type === 'reply') replies.set(frame.id, frame);
    if (frame.type === 'outcome') outcomes.add(frame.runId);
    const runId = frame.runId ?? frame.event?.runId;
    if (typeof runId === 'string' && !seenRunIds.includes(runId) && seenRunIds.length < 200) seenRunIds.push(runId);
    if (frame.type === 'work') {
      context.workIds.push(frame.workId);
      answerWork(frame.workId, session.answers[context.workIds.length % session.answers.length]!);
    }
    frames.push(frame);
  });
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!opened) return [`${session.kind}: the gateway refused the websocket`];
  const send = (made: { text: string } | { binary: Uint8Array }) => {
    if (socket.readyState !== socket.OPEN) return;
    if ('text' in made) noteTrigger(made.text);
    socket.send('text' in made ? made.text : made.binary, { binary: !('text' in made) });
  };
  /** A trigger whose id the gateway can read is answered by a reply naming it (refused) or by its run's outcome. */
  const noteTrigger = (text: string) => {
    if (nestingOver(text, MAX_DEPTH)) return; // refused before it is read, so without its id
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame?.type === 'trigger' && Number.isSafeInteger(frame.id) && frame.id >= 0 && typeof frame.runId === 'string') triggers.set(frame.id, frame.runId);
  };
  const authenticate = async (key: string) => {
    sendRaw(socket, { type: 'auth', id: 0, name: FUZZER.name, key });
    await waitFor(() => replies.has(0) || isClosed, 'the auth reply');
  };
  const answerWork = (workId: number, answer: TWorkAnswer) => {
    if (answer === 'ignore' || socket.readyState !== socket.OPEN) return;
    if (answer === 'update-then-done') sendRaw(socket, { type: 'workUpdate', workId, payload: { step: 1 } });
    if (answer === 'fail') sendRaw(socket, { type: 'workDone', workId, ok: false, error: { name: 'FuzzError', message: 'no' } });
    else sendRaw(socket, { type: 'workDone', workId, ok: true, value: { workId } });
    if (answer === 'done-twice') sendRaw(socket, { type: 'workDone', workId, ok: true });
  };
  let silent = 0;
  const sendFrames = () => {
    for (const make of session.frames) {
      const made = make(context);
      if (made.silent === true) silent++;
      send(made);
    }
  };

  if (session.kind === 'authenticated') {
    await authenticate(FUZZER.key);
    if (replies.get(0)?.ok !== true) return [`the fuzzer could not authenticate: ${JSON.stringify(replies.get(0))}`];
    if (session.serves) {
      for (const n of [0, 1, 2]) sendRaw(socket, { type: 'serve', id: context.nextId(), taskName: `fuzz:${n}`, concurrency: 2 });
      for (const n of [0, 1, 2]) {
        const id = context.nextId();
        send({ text: JSON.stringify({ type: 'trigger', id, runId: context.nextRunId(id), taskName: `fuzz:${n}`, input: { n }, timeoutMs: 300 }) });
      }
    }
    sendFrames();
    const sentinel = 1e9;
    sendRaw(socket, { type: 'list', id: sentinel });
    await waitFor(() => replies.has(sentinel) || isClosed, 'the last reply or the close', 10_000);
    // A refused trigger is answered by a reply, before the last one's; an accepted one by its
    // outcome, which may come later, or never while its task is paused: the gateway holds it then.
    const triggerAnswered = (id: number, runId: string) => replies.has(id) || outcomes.has(runId) || isRunGoingOn(runId);
    await waitFor(() => isClosed || [...triggers].every(([id, runId]) => triggerAnswered(id, runId)), 'an answer to every trigger', 10_000);
    if (!isClosed) {
      // Every frame sent was answered: a reply or an error, or for an accepted trigger its outcome.
      const answers = frames.filter((frame) => (frame.type === 'reply' && frame.id !== 0 && frame.id !== sentinel) || frame.type === 'error').length +
        [...triggers].filter(([id, runId]) => !replies.has(id) && (outcomes.has(runId) || isRunGoingOn(runId))).length;
      const expected = session.frames.length - silent + (session.serves ? 6 : 0);
      if (answers < expected) problems.push(`${expected} frames wanted an answer, ${answers} got one`);
      socket.close(1000);
    } else {
      const bad = frames.filter((frame) => frame.error?.code === 'BAD_FRAME').length;
      if (bad < MAX_BAD_FRAMES) problems.push(`closed after ${bad} malformed frames, not ${MAX_BAD_FRAMES}`);
    }
  } else if (session.kind === 'before-auth') {
    sendFrames();
    if (frames.some((frame) => frame.ok === true || (frame.type !== 'reply' && frame.type !== 'error'))) problems.push('before auth, something was accepted');
  } else if (session.kind === 'wrong-key') {
    sendRaw(socket, { type: 'auth', id: 0, name: FUZZER.name, key: `SECRET-MARKER${session.keyTail}` });
    sendFrames();
  } else {
    await authenticate(FUZZER.key);
    const size = MAX_PAYLOAD + session.extraBytes;
    if (session.hugeBinary) socket.send(Buffer.alloc(size, 7));
    else socket.send(`{"type":"list","id":1,"x":"${'x'.repeat(size)}"}`);
  }
  const code = await within(closed, `the close of a ${session.kind} session`, 15_000);
  if (!CLOSES[session.kind].includes(code)) problems.push(`${session.kind}: closed with ${code}, expected one of ${CLOSES[session.kind].join(', ')}`);
  if (session.kind !== 'authenticated' && frames.some((frame) => frame.ok === true && frame.id !== 0)) problems.push(`${session.kind}: a request was answered`);
  return problems;
}
