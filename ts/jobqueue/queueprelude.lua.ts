/**
 * The Lua functions every script of RedisTaskQueue starts with (see queue.lua.ts for the
 * keys and channels they use): `key`, the time `NOW` from Redis's clock, events and
 * wake-ups published by `flush()` at the end of a script, and the moves of a job between
 * states that several scripts share (`enqueue`, `finish`, `trim`, `promoteDue`, `claim`).
 */

const PRELUDE = `local P = ARGV[1]
local function key(a, b) if b then return P .. ':' .. a .. ':' .. b end return P .. ':' .. a end
local TIME = redis.call('TIME')
local NOW = tonumber(TIME[1]) * 1000 + math.floor(tonumber(TIME[2]) / 1000)
local EVENTS = {}
local WAKE = {}
local function emit(event) event.timestamp = NOW; EVENTS[#EVENTS + 1] = event end
local function flush()
  if #EVENTS > 0 then redis.call('PUBLISH', key('events'), cjson.encode(EVENTS)) end
  for task in pairs(WAKE) do redis.call('PUBLISH', key('wake'), task) end
end
-- Larger priority first, then arrival; |priority| <= 1e6 keeps every score an exact integer.
local function waitScore(priority, seq) return -priority * 8589934592 + seq end
local function enqueue(id, jk, task, priority)
  local seq = redis.call('INCR', key('seq'))
  redis.call('ZADD', key('wait', task), waitScore(priority, seq), id)
  redis.call('ZADD', key('waiting'), seq, id)
  redis.call('SADD', key('tasks'), task)
  redis.call('HSET', jk, 'state', 'waiting')
  WAKE[task] = true
end
local function trim(state, keepMs)
  if keepMs < 0 then return end
  local old = redis.call('ZRANGEBYSCORE', key(state), '-inf', NOW - keepMs, 'LIMIT', 0, 50)
  for _, id in ipairs(old) do
    redis.call('ZREM', key(state), id)
    redis.call('DEL', key('job', id))
  end
end
-- A job reaches its final state: completed, failed or cancelled.
local function finish(id, jk, state, field, payload, keepMs, event)
  redis.call('HSET', jk, 'state', state, field, payload, 'finishedAt', NOW)
  redis.call('HDEL', jk, 'lease')
  redis.call('ZADD', key(state), NOW, id)
  if keepMs >= 0 then redis.call('PEXPIRE', jk, math.max(keepMs, 1)) end
  trim(state, keepMs)
  event.type = state
  event.jobId = id
  emit(event)
end
local function promoteDue(limit)
  local due = redis.call('ZRANGEBYSCORE', key('delayed'), '-inf', NOW, 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    redis.call('ZREM', key('delayed'), id)
    local jk = key('job', id)
    local f = redis.call('HMGET', jk, 'taskName', 'priority')
    if f[1] then enqueue(id, jk, f[1], tonumber(f[2])) end
  end
end
-- Ms until the first delayed job is due: 0 when some are due already (more than one call
-- promotes), -1 when there are none or the queue is paused (resume wakes every worker).
local function nextDue()
  if redis.call('EXISTS', key('paused')) == 1 then return -1 end
  local first = redis.call('ZRANGE', key('delayed'), 0, 0, 'WITHSCORES')
  if first[2] then return math.max(tonumber(first[2]) - NOW, 0) end
  return -1
end
-- Takes up to count waiting jobs of the given tasks (best priority first) for inst.
-- Appends 8 fields per job to out: id, task, input, priority, timeoutMs, retry, failures, lease.
local function claim(inst, leaseMs, count, firstTask, out)
  if count <= 0 or redis.call('EXISTS', key('paused')) == 1 then return 0 end
  promoteDue(100)
  local heads = {}
  local function readHead(task)
    local head = redis.call('ZRANGE', key('wait', task), 0, 0, 'WITHSCORES')
    if head[1] then heads[task] = { head[1], tonumber(head[2]) } else heads[task] = nil end
  end
  for i = firstTask, #ARGV do readHead(ARGV[i]) end
  local taken = 0
  while taken < count do
    local bestTask, best = nil, nil
    for task, head in pairs(heads) do
      if best == nil or head[2] < best[2] then bestTask, best = task, head end
    end
    if best == nil then break end
    local id = best[1]
    local jk = key('job', id)
    redis.call('ZREM', key('wait', bestTask), id)
    redis.call('ZREM', key('waiting'), id)
    readHead(bestTask)
    local f = redis.call('HMGET', jk, 'input', 'priority', 'timeoutMs', 'retry', 'failures')
    local lease = inst .. '#' .. redis.call('HINCRBY', jk, 'starts', 1)
    redis.call('HSET', jk, 'state', 'active', 'instanceId', inst, 'lease', lease, 'startedAt', NOW)
    redis.call('ZADD', key('active'), NOW + leaseMs, id)
    local n = #out
    out[n + 1] = id; out[n + 2] = bestTask; out[n + 3] = f[1] or ''; out[n + 4] = f[2] or '0'
    out[n + 5] = f[3] or ''; out[n + 6] = f[4] or ''; out[n + 7] = f[5] or '0'; out[n + 8] = lease
    emit({ type = 'started', jobId = id, taskName = bestTask, instanceId = inst, attempt = tonumber(f[5] or '0') + 1 })
    taken = taken + 1
  end
  return taken
end
`;

/** A script: the prelude, then `extra` functions, then `body`. */
export function script(body: string, extra = ''): string {
  return `${PRELUDE}${extra}${body}`;
}
