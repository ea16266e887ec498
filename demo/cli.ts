/**
 * `npm start`: a short tour of the primitives in a terminal. Each section prints what it
 * does and what came back, so a newcomer sees the behaviour without reading the code.
 */
import { Task, Taskchain, Taskparallel, TaskDebounced, TaskOnce, type ITaskEvent } from '../ts/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const t0 = Date.now();
const log = (line: string) => console.log(`${String(Date.now() - t0).padStart(5)} ms  ${line}`);
const section = (title: string) => console.log(`\n== ${title} ${'='.repeat(Math.max(0, 60 - title.length))}`);

async function stepsAndEvents() {
  section('A task with steps, progress and events');
  const deploy = new Task({
    name: 'deploy',
    labels: { env: 'staging' },
    steps: [
      { name: 'build', description: 'Building', percentage: 50 },
      { name: 'upload', description: 'Uploading', percentage: 40 },
      { name: 'verify', description: 'Verifying', percentage: 10 },
    ] as const,
    taskFunction: async (version: string) => {
      deploy.notifyStep('build');
      await sleep(120);
      deploy.notifyStep('upload');
      await sleep(120);
      deploy.notifyStep('verify');
      await sleep(60);
      return `deployed ${version}`;
    },
  });
  const subscription = deploy.eventSubject.subscribe((event: ITaskEvent) => {
    const detail = event.type === 'step' ? ` -> ${event.stepName}` : '';
    log(`[${event.type}]${detail}  progress ${event.task.currentProgress}%`);
  });
  log(`result: ${await deploy.trigger('v1.2.3')}`);
  subscription.unsubscribe();
}

async function buffering() {
  section('Buffered: bufferMax 2, ten rapid calls');
  const started: number[] = [];
  const fetchPage = new Task({
    name: 'fetch-page',
    buffered: true,
    bufferMax: 2,
    taskFunction: async (page: number) => {
      started.push(page);
      await sleep(50);
      return page;
    },
  });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => fetchPage.trigger(i)));
  log(`pages that ran: ${started.join(', ')} (2 at once, 2 waiting, newer calls replace the newest waiting one)`);
  log(`what each caller got: ${results.join(', ')}`);
}

async function debouncing() {
  section('Debounced search box: typing "hello"');
  const search = new TaskDebounced({
    name: 'search',
    debounceTimeInMillis: 100,
    taskFunction: async (query: string) => {
      log(`searching for "${query}"`);
      return [`${query} world`, `${query} kitty`];
    },
  });
  const typed = ['h', 'he', 'hel', 'hell', 'hello'].map((q) => search.trigger(q));
  const answers = await Promise.all(typed);
  log(`5 keystrokes, ${search.runCount} search; every caller got ${JSON.stringify(answers[0])}`);
}

async function chainAndParallel() {
  section('A chain and a parallel fan-out');
  const double = new Task({ name: 'double', taskFunction: async (n: number) => n * 2 });
  const addTen = new Task({ name: 'add-ten', taskFunction: async (n: number) => n + 10 });
  const chain = new Taskchain({ name: 'math', taskArray: [double, addTen] });
  log(`chain: 5 -> double -> add-ten = ${await chain.trigger(5)}`);

  const fail = new Task({ name: 'explode', taskFunction: async () => { throw new Error('boom'); } });
  chain.addTask(fail);
  try {
    await chain.trigger(1);
  } catch (error) {
    log(`chain failure: ${(error as Error).message}`);
  }

  const notify = new Taskparallel({
    taskArray: ['email', 'sms', 'push'].map(
      (channel) => new Task({ name: channel, taskFunction: async (msg: string) => `${channel}: ${msg}` }),
    ),
  });
  log(`parallel: ${JSON.stringify(await notify.trigger('hi'))}`);
}

async function once() {
  section('TaskOnce');
  let connects = 0;
  const connect = new TaskOnce({ name: 'connect', taskFunction: async () => ++connects });
  await Promise.all([connect.trigger(), connect.trigger(), connect.trigger()]);
  log(`three triggers, the function ran ${connects} time(s); hasTriggered = ${connect.hasTriggered}`);
}

await stepsAndEvents();
await buffering();
await debouncing();
await chainAndParallel();
await once();
console.log('\nDone. `npm test` runs the test suite; readme.md documents every primitive.');
