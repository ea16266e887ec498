/**
 * The Lua scripts of RedisTaskQueue. Every change of a job's state happens inside one of
 * them, atomically, which is what makes a lease exclusive and an outcome final when
 * workers race. Times come from Redis's clock (TIME), so workers whose clocks disagree
 * still agree on leases and due times. Events and wake-ups are published from inside
 * the scripts: they cost no client command and can never disagree with the state.
 *
 * Keys, all under `<keyPrefix>:queue:<name>` (ARGV[1] of every script):
 * - `job:<id>`: the job's hash (fields: see `JOB_FIELDS` in jobrecord.ts)
 * - `wait:<task>`: waiting jobs of one task, by priority then arrival (claims read these)
 * - `waiting`, `delayed`, `active`, `completed`, `failed`, `cancelled`: one sorted set per
 *   state, for counts and listing (`delayed` scored by due time, `active` by lease end)
 * - `tasks`: names of tasks that had waiting jobs; `seq`: arrival counter; `paused`: a flag
 * - `workers`: live workers by lease end; `worker:<instanceId>`: their task names (JSON)
 * - channels `events` (JSON arrays of events), `wake` (a task name, or `*`), `cancel` (a job id)
 */

import { script } from './queueprelude.lua.js';

/** The stalled-job error as the queue records it (a job's `error` field). */
const STALLED = `local function stalledError(id, task, stalls, maxStalls)
  return cjson.encode({ name = 'JobStalledError', code = 'JOB_STALLED',
    message = 'job ' .. cjson.encode(id) .. ' of task ' .. cjson.encode(task) .. ' stalled ' .. stalls ..
      ' times (its worker stopped renewing the lease, e.g. it died or its event loop was blocked for leaseMs); maxStalls is ' .. maxStalls })
end
`;

export const QUEUE_SCRIPTS = {
  /**
   * ARGV: prefix, instanceId, count, then per job 8 fields: id, task, input, priority,
   * delayMs, retry, timeoutMs, labels. Returns 1 per job added, 0 per id that existed.
   */
  add: script(`local inst = ARGV[2]
local out = {}
local i = 4
for j = 1, tonumber(ARGV[3]) do
  local id, task = ARGV[i], ARGV[i + 1]
  local jk = key('job', id)
  if redis.call('EXISTS', jk) == 1 then
    out[j] = 0
  else
    -- An id whose earlier record expired may still be listed in its final state's set until a
    -- trim: left there, that trim would delete this new job's hash, and counts would be off.
    redis.call('ZREM', key('completed'), id)
    redis.call('ZREM', key('failed'), id)
    redis.call('ZREM', key('cancelled'), id)
    redis.call('HSET', jk, 'id', id, 'taskName', task, 'priority', ARGV[i + 3], 'createdAt', NOW,
      'failures', 0, 'stalls', 0, 'starts', 0, 'progress', 0)
    if ARGV[i + 2] ~= '' then redis.call('HSET', jk, 'input', ARGV[i + 2]) end
    if ARGV[i + 5] ~= '' then redis.call('HSET', jk, 'retry', ARGV[i + 5]) end
    if ARGV[i + 6] ~= '' then redis.call('HSET', jk, 'timeoutMs', ARGV[i + 6]) end
    if ARGV[i + 7] ~= '' then redis.call('HSET', jk, 'labels', ARGV[i + 7]) end
    local delay = tonumber(ARGV[i + 4])
    if delay > 0 then
      redis.call('HSET', jk, 'state', 'delayed')
      redis.call('ZADD', key('delayed'), NOW + delay, id)
      WAKE['*'] = true
    else
      enqueue(id, jk, task, tonumber(ARGV[i + 3]))
    end
    emit({ type = 'added', jobId = id, taskName = task, instanceId = inst })
    out[j] = 1
  end
  i = i + 8
end
flush()
return out`),

  /**
   * ARGV: prefix, instanceId, leaseMs, count, then the worker's task names. Returns
   * { ms until the next delayed job is due or -1, ...8 fields per claimed job }.
   */
  claim: script(`local out = { 0 }
claim(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), 5, out)
out[1] = nextDue()
flush()
return out`),

  /**
   * Records the outcomes of runs and, in the same call, claims the worker's next jobs.
   * ARGV: prefix, instanceId, leaseMs, count to claim, n, then per outcome: id, lease,
   * outcome (`completed`, `failed`, `retry`, `release`), payload (result or error JSON),
   * retryDelayMs, keepMs; then the worker's task names. Returns { per outcome 'ok' or
   * 'lost' (the lease was not this worker's any more: nothing changed), ms until the
   * next delayed job is due or -1, ...claimed jobs }.
   */
  finish: script(`local inst = ARGV[2]
local statuses = {}
local n = tonumber(ARGV[5])
for j = 0, n - 1 do
  local at = 6 + j * 6
  local id, lease, outcome, payload, keepMs = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], tonumber(ARGV[at + 5])
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'state', 'lease', 'taskName', 'failures', 'cancel', 'priority')
  if f[1] ~= 'active' or f[2] ~= lease then
    statuses[j + 1] = 'lost'
  else
    statuses[j + 1] = 'ok'
    local task = f[3]
    redis.call('ZREM', key('active'), id)
    if outcome == 'completed' then
      redis.call('HSET', jk, 'progress', 100)
      finish(id, jk, 'completed', 'result', payload, keepMs, { taskName = task, instanceId = inst })
    elseif f[5] then
      finish(id, jk, 'cancelled', 'error', f[5], keepMs, { taskName = task, instanceId = inst, error = cjson.decode(f[5]) })
    elseif outcome == 'release' then
      redis.call('HDEL', jk, 'lease')
      enqueue(id, jk, task, tonumber(f[6]))
    else
      local failures = redis.call('HINCRBY', jk, 'failures', 1)
      redis.call('HSET', jk, 'error', payload)
      if outcome == 'retry' then
        local delay = tonumber(ARGV[at + 4])
        redis.call('HDEL', jk, 'lease')
        if delay > 0 then
          redis.call('HSET', jk, 'state', 'delayed')
          redis.call('ZADD', key('delayed'), NOW + delay, id)
          WAKE['*'] = true
        else
          enqueue(id, jk, task, tonumber(f[6]))
        end
        emit({ type = 'retrying', jobId = id, taskName = task, instanceId = inst, attempt = failures + 1, delayMs = delay, error = cjson.decode(payload) })
      else
        finish(id, jk, 'failed', 'error', payload, keepMs, { taskName = task, instanceId = inst, error = cjson.decode(payload) })
      end
    end
  end
end
local out = { statuses, 0 }
claim(inst, tonumber(ARGV[3]), tonumber(ARGV[4]), 6 + n * 6, out)
out[2] = nextDue()
flush()
return out`),

  /**
   * ARGV: prefix, instanceId, leaseMs, the worker's task names as JSON, then id/lease
   * pairs. Renews the leases still held and the worker's presence. Returns { ids whose
   * lease was lost, ids of held jobs whose cancellation was asked for }.
   */
  renew: script(`local inst, leaseMs = ARGV[2], tonumber(ARGV[3])
local lost, cancels = {}, {}
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local f = redis.call('HMGET', key('job', id), 'state', 'lease', 'cancel')
  if f[1] == 'active' and f[2] == ARGV[i + 1] then
    redis.call('ZADD', key('active'), NOW + leaseMs, id)
    if f[3] then cancels[#cancels + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
redis.call('ZADD', key('workers'), NOW + leaseMs, inst)
redis.call('SET', key('worker', inst), ARGV[4], 'PX', leaseMs)
return { lost, cancels }`),

  /** ARGV: prefix, instanceId. Removes this worker's presence (on stop). */
  leave: script(`redis.call('ZREM', key('workers'), ARGV[2])
redis.call('DEL', key('worker', ARGV[2]))
return 1`),

  /**
   * ARGV: prefix, maxStalls, keepFailedMs, keepCompletedMs. Puts jobs whose lease ran out
   * back to waiting (or fails those that stalled too often), moves due delayed jobs to
   * waiting, drops expired records from the final states' sets and forgets dead workers.
   * Returns { ms until the next delayed job is due or -1, jobs stalled }.
   */
  sweep: script(`local maxStalls, keepMs = tonumber(ARGV[2]), tonumber(ARGV[3])
promoteDue(1000)
-- Finishing a job trims its state's set, but records also expire when nothing finishes.
trim('completed', tonumber(ARGV[4]))
trim('failed', keepMs)
trim('cancelled', keepMs)
local expired = redis.call('ZRANGEBYSCORE', key('active'), '-inf', NOW, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', key('active'), id)
  local jk = key('job', id)
  local f = redis.call('HMGET', jk, 'state', 'taskName', 'cancel', 'instanceId', 'priority')
  if f[1] == 'active' then
    local task = f[2]
    if f[3] then
      finish(id, jk, 'cancelled', 'error', f[3], keepMs, { taskName = task, instanceId = f[4], error = cjson.decode(f[3]) })
    else
      local stalls = redis.call('HINCRBY', jk, 'stalls', 1)
      emit({ type = 'stalled', jobId = id, taskName = task, instanceId = f[4], stalls = stalls })
      if stalls > maxStalls then
        local err = stalledError(id, task, stalls, maxStalls)
        finish(id, jk, 'failed', 'error', err, keepMs, { taskName = task, instanceId = f[4], error = cjson.decode(err) })
      else
        redis.call('HDEL', jk, 'lease')
        enqueue(id, jk, task, tonumber(f[5]))
      end
    end
  end
end
local dead = redis.call('ZRANGEBYSCORE', key('workers'), '-inf', NOW)
for _, inst in ipairs(dead) do
  redis.call('ZREM', key('workers'), inst)
  redis.call('DEL', key('worker', inst))
end
local out = { nextDue(), #expired }
flush()
return out`, STALLED),

  /**
   * ARGV: prefix, id, reason (error JSON), instanceId, keepMs. Returns `cancelled` (it was
   * waiting or delayed), `requested` (it is active: its worker aborts it), `missing`, or
   * the final state it already had.
   */
  cancel: script(`local id, reason, inst, keepMs = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local jk = key('job', id)
local f = redis.call('HMGET', jk, 'state', 'taskName')
local state, task = f[1], f[2]
if not state then return 'missing' end
if state == 'waiting' or state == 'delayed' then
  redis.call('ZREM', key('wait', task), id)
  redis.call('ZREM', key('waiting'), id)
  redis.call('ZREM', key('delayed'), id)
  finish(id, jk, 'cancelled', 'error', reason, keepMs, { taskName = task, instanceId = inst, error = cjson.decode(reason) })
  flush()
  return 'cancelled'
end
if state == 'active' then
  redis.call('HSET', jk, 'cancel', reason)
  redis.call('PUBLISH', key('cancel'), cjson.encode({ jobId = id, message = cjson.decode(reason).message }))
  return 'requested'
end
return state`),

  /**
   * ARGV: prefix, id, instanceId. Puts a failed or cancelled job back to waiting as if it
   * were new: same id, task, input, labels, priority, retry and timeoutMs; its tries,
   * stalls, outcome, progress and steps are forgotten, and its record no longer expires.
   * Returns `retried`, `missing`, or the state of a job that cannot be retried.
   */
  retry: script(`local id, inst = ARGV[2], ARGV[3]
local jk = key('job', id)
local f = redis.call('HMGET', jk, 'state', 'taskName', 'priority')
local state, task = f[1], f[2]
if not state then return 'missing' end
if state ~= 'failed' and state ~= 'cancelled' then return state end
redis.call('ZREM', key(state), id)
redis.call('PERSIST', jk)
-- 'starts' is kept: a lease must never be handed out twice, and a run that lost its lease may still go on.
-- 'cancel' goes too: a job cancelled while active keeps it, and the next run would be cancelled by it.
redis.call('HSET', jk, 'failures', 0, 'stalls', 0, 'progress', 0)
redis.call('HDEL', jk, 'error', 'result', 'steps', 'startedAt', 'finishedAt', 'instanceId', 'lease', 'cancel')
enqueue(id, jk, task, tonumber(f[3]))
emit({ type = 'retried', jobId = id, taskName = task, instanceId = inst })
flush()
return 'retried'`),

  /** ARGV: prefix, id, lease, progress, steps JSON, step name, instanceId. Records a step of an active job. */
  progress: script(`local id = ARGV[2]
local jk = key('job', id)
local f = redis.call('HMGET', jk, 'lease', 'taskName')
if f[1] ~= ARGV[3] then return 0 end
redis.call('HSET', jk, 'progress', ARGV[4], 'steps', ARGV[5])
local progress = tonumber(ARGV[4])
if ARGV[6] ~= '' then emit({ type = 'step', jobId = id, taskName = f[2], instanceId = ARGV[7], stepName = ARGV[6], progress = progress }) end
emit({ type = 'progress', jobId = id, taskName = f[2], instanceId = ARGV[7], progress = progress })
flush()
return 1`),

  /** ARGV: prefix, 1 to pause or 0 to resume. Resuming wakes every worker. */
  pause: script(`if ARGV[2] == '1' then
  redis.call('SET', key('paused'), NOW)
else
  redis.call('DEL', key('paused'))
  WAKE['*'] = true
end
flush()
return 1`),

  /**
   * ARGV: prefix. Returns { waiting, delayed, active, completed, failed, cancelled, paused,
   * { task, waiting }..., { live worker task lists as JSON }... } as nested arrays.
   */
  counts: script(`local counts = {}
for i, state in ipairs({ 'waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled' }) do
  counts[i] = redis.call('ZCARD', key(state))
end
counts[7] = redis.call('EXISTS', key('paused'))
local perTask = {}
for _, task in ipairs(redis.call('SMEMBERS', key('tasks'))) do
  local n = redis.call('ZCARD', key('wait', task))
  if n > 0 then perTask[#perTask + 1] = task; perTask[#perTask + 1] = n end
end
local workers = {}
for _, inst in ipairs(redis.call('ZRANGEBYSCORE', key('workers'), NOW, '+inf')) do
  local tasks = redis.call('GET', key('worker', inst))
  if tasks then workers[#workers + 1] = tasks end
end
return { counts, perTask, workers }`),

  /**
   * ARGV: prefix, state, limit, after (a job id or ''). Returns the hashes (as flat
   * field/value arrays) of up to `limit` jobs in that state after `after`.
   */
  list: script(`local set = key(ARGV[2])
local limit = tonumber(ARGV[3])
local start = 0
if ARGV[4] ~= '' then
  local rank = redis.call('ZRANK', set, ARGV[4])
  if rank then start = rank + 1 end
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', set, start, start + limit - 1)) do
  local job = redis.call('HGETALL', key('job', id))
  if #job > 0 then out[#out + 1] = job end
end
return out`),
} as const;

export type TQueueScript = keyof typeof QUEUE_SCRIPTS;
