/**
 * The queue's Lua scripts against a model, with fast-check: random sequences of add,
 * claim, complete, fail, retry, release, renew, cancel and lease expiry (a job's lease
 * end moved into the past, then a sweep), run on a real redis-server. After every step
 * each job's state, the counts and every script's answer match the model; in particular
 * a stale lease never changes anything and a final state never changes again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { QueueConnection } from '../ts/jobqueue/queueconnection.js';
import { uniqueQueueName } from './jobqueue-helpers.js';
import { failIfProcessLingers, startRedis, type IRedisServer } from './redis-helpers.js';

let redis: IRedisServer;
let admin: Redis;

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

after(async () => {
  admin?.disconnect();
  await redis?.stop();
  failIfProcessLingers('jobqueue.model.test.ts');
});

const JOBS = ['j0', 'j1', 'j2', 'j3'];
const WORKERS = ['A', 'B'];
const MAX_STALLS = 1;
const LEASE_MS = 60_000;

type TOp =
  | { op: 'add'; job: string }
  | { op: 'claim'; worker: string }
  | { op: 'finish'; worker: string; job: string; outcome: 'completed' | 'failed' | 'retry' | 'release'; stale: boolean }
  | { op: 'renew'; worker: string }
  | { op: 'cancel'; job: string }
  | { op: 'expire'; job: string };

interface IModelJob {
  state: string;
  seq: number;
  lease?: string;
  holder?: string;
  failures: number;
  stalls: number;
  cancel: boolean;
}

const jobArb = fc.constantFrom(...JOBS);
const workerArb = fc.constantFrom(...WORKERS);
const opArb: fc.Arbitrary<TOp> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), job: jobArb }),
  fc.record({ op: fc.constant('claim' as const), worker: workerArb }),
  fc.record({ op: fc.constant('finish' as const), worker: workerArb, job: jobArb, outcome: fc.constantFrom('completed' as const, 'failed' as const, 'retry' as const, 'release' as const), stale: fc.boolean() }),
  fc.record({ op: fc.constant('renew' as const), worker: workerArb }),
  fc.record({ op: fc.constant('cancel' as const), job: jobArb }),
  fc.record({ op: fc.constant('expire' as const), job: jobArb }),
);

class Model {
  readonly jobs = new Map<string, IModelJob>();
  /** Every lease a worker was ever given, per job: the newest is the one it holds now. */
  readonly leases = new Map<string, string[]>();
  private seq = 0;

  add(id: string): number {
    if (this.jobs.has(id)) return 0;
    this.jobs.set(id, { state: 'waiting', seq: ++this.seq, failures: 0, stalls: 0, cancel: false });
    return 1;
  }

  nextWaiting(): string | undefined {
    let best: [string, IModelJob] | undefined;
    for (const entry of this.jobs) if (entry[1].state === 'waiting' && (best === undefined || entry[1].seq < best[1].seq)) best = entry;
    return best?.[0];
  }

  enqueue(job: IModelJob): void {
    job.state = 'waiting';
    job.seq = ++this.seq;
    job.lease = job.holder = undefined;
  }

  end(job: IModelJob, state: string): void {
    job.state = state;
    job.lease = job.holder = undefined;
  }
}

test('the scripts agree with the model in any order of lease, stall, complete, cancel and retry', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const name = uniqueQueueName();
      const connection = new QueueConnection({ url: redis.url, givenClient: undefined }, 'tbmodel', name, (error) => { throw error; });
      const prefix = connection.prefix;
      const model = new Model();
      try {
        for (const step of ops) await apply(connection, prefix, model, step);
      } finally {
        await connection.close();
      }
    }),
    { numRuns: 200, seed: Number(process.env.FC_SEED ?? 4242) },
  );
});

async function apply(connection: QueueConnection, prefix: string, model: Model, step: TOp): Promise<void> {
  const what = JSON.stringify(step);
  switch (step.op) {
    case 'add': {
      const [created] = (await connection.run('add', ['producer', 1, step.job, 'T', '', 0, 0, '', '', ''])) as number[];
      assert.equal(created, model.add(step.job), what);
      break;
    }
    case 'claim': {
      const reply = (await connection.run('claim', [step.worker, LEASE_MS, 1, 'T'])) as string[];
      const expected = model.nextWaiting();
      assert.equal(reply[1], expected, what);
      if (expected !== undefined) {
        const job = model.jobs.get(expected)!;
        job.state = 'active';
        job.lease = reply[8];
        job.holder = step.worker;
        model.leases.set(`${step.worker}/${expected}`, [...(model.leases.get(`${step.worker}/${expected}`) ?? []), reply[8]!]);
      }
      break;
    }
    case 'finish': {
      const given = model.leases.get(`${step.worker}/${step.job}`) ?? [];
      const lease = step.stale ? given[0] ?? 'never-given' : given.at(-1) ?? 'never-given';
      const payload = step.outcome === 'completed' ? '1' : '{"name":"Error","message":"x"}';
      const reply = (await connection.run('finish', [step.worker, LEASE_MS, 0, 1, step.job, lease, step.outcome, payload, 0, -1])) as [string[]];
      const job = model.jobs.get(step.job);
      const valid = job !== undefined && job.state === 'active' && job.lease === lease;
      assert.equal(reply[0][0], valid ? 'ok' : 'lost', what);
      if (valid) {
        if (step.outcome === 'completed') model.end(job, 'completed');
        else if (job.cancel) model.end(job, 'cancelled');
        else if (step.outcome === 'release') model.enqueue(job);
        else if (step.outcome === 'retry') {
          job.failures++;
          model.enqueue(job);
        } else {
          job.failures++;
          model.end(job, 'failed');
        }
      }
      break;
    }
    case 'renew': {
      const pairs: string[] = [];
      for (const id of JOBS) {
        const lease = model.leases.get(`${step.worker}/${id}`)?.at(-1);
        if (lease !== undefined) pairs.push(id, lease);
      }
      const [lost, cancels] = (await connection.run('renew', [step.worker, LEASE_MS, '["T"]', ...pairs])) as [string[], string[]];
      const expectedLost = [];
      const expectedCancels = [];
      for (let i = 0; i < pairs.length; i += 2) {
        const job = model.jobs.get(pairs[i]!)!;
        if (job.state === 'active' && job.lease === pairs[i + 1]) {
          if (job.cancel) expectedCancels.push(pairs[i]);
        } else expectedLost.push(pairs[i]);
      }
      assert.deepEqual(lost, expectedLost, what);
      assert.deepEqual(cancels, expectedCancels, what);
      break;
    }
    case 'cancel': {
      const answer = await connection.run('cancel', [step.job, '{"name":"JobCancelledError","message":"stop"}', 'producer', -1]);
      const job = model.jobs.get(step.job);
      let expected: string;
      if (job === undefined) expected = 'missing';
      else if (job.state === 'waiting') {
        model.end(job, 'cancelled');
        expected = 'cancelled';
      } else if (job.state === 'active') {
        job.cancel = true;
        expected = 'requested';
      } else expected = job.state;
      assert.equal(answer, expected, what);
      break;
    }
    case 'expire': {
      // Time passing for one job: its lease end moves into the past, then a sweep runs.
      await admin.zadd(`${prefix}:active`, 'XX', 0, step.job);
      await connection.run('sweep', [MAX_STALLS, -1, -1]);
      const job = model.jobs.get(step.job);
      if (job?.state === 'active') {
        if (job.cancel) model.end(job, 'cancelled');
        else if (++job.stalls > MAX_STALLS) model.end(job, 'failed');
        else model.enqueue(job);
      }
      break;
    }
  }
  await assertMatches(prefix, model, what);
}

async function assertMatches(prefix: string, model: Model, what: string): Promise<void> {
  const counts = new Map<string, number>();
  for (const id of JOBS) {
    const job = model.jobs.get(id);
    const [state, lease, stalls] = await admin.hmget(`${prefix}:job:${id}`, 'state', 'lease', 'stalls');
    assert.equal(state ?? undefined, job?.state, `${what}: state of ${id}`);
    if (job === undefined) continue;
    assert.equal(lease ?? undefined, job.lease, `${what}: lease of ${id}`);
    assert.equal(Number(stalls), job.stalls, `${what}: stalls of ${id}`);
    counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  }
  for (const state of ['waiting', 'active', 'completed', 'failed', 'cancelled']) {
    assert.equal(await admin.zcard(`${prefix}:${state}`), counts.get(state) ?? 0, `${what}: ${state} count`);
  }
}
