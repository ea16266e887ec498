/**
 * The Lua scripts of RedisCoordinator. Each runs atomically in Redis, which is what makes
 * an election or a slot count correct when instances race. Times come from Redis's own
 * clock (TIME), so instances whose clocks disagree still agree on leases and cooldowns.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Grants the room of slot KEYS[1] to the first holders of its queue KEYS[3], in the order
 * they queued (they wait there for it), and names each on `channel` so that its instance
 * starts the run. A granted holder that already held the slot (a lost message, then an
 * ask) is only renewed; the loop ends when the queue does.
 */
const GRANT_QUEUED = `local function grantQueued(now, lease, max, channel)
  local granted = false
  while max < 0 or redis.call('ZCARD', KEYS[1]) < max do
    local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    if not head then break end
    redis.call('ZREM', KEYS[3], head)
    redis.call('ZADD', KEYS[1], now + lease, head)
    redis.call('PUBLISH', channel, head)
    granted = true
  end
  if granted then redis.call('PEXPIRE', KEYS[1], lease * 2) end
end`;

export const LUA_SCRIPTS = {
  /** KEYS: lease, done. ARGV: owner, leaseMs. Returns 'claimed', 'held' or 'done'. */
  claimTick: {
    keys: 2,
    lua: `if redis.call('EXISTS', KEYS[2]) == 1 then return 'done' end
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'claimed'
end
return 'held'`,
  },

  /** KEYS: lease, done. ARGV: owner, outcome JSON, done TTL ms. Records the outcome once; 1 when recorded. */
  finishTick: {
    keys: 2,
    lua: `local holder = redis.call('GET', KEYS[1])
if holder ~= false and holder ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[1])
return 1`,
  },

  /** ARGV: owner, leaseMs, then lease/done key pairs. Renews own leases; re-asserts them if Redis lost them. */
  renewTicks: {
    keys: 0,
    lua: `local renewed = 0
for i = 3, #ARGV, 2 do
  local holder = redis.call('GET', ARGV[i])
  if (holder == ARGV[1]) or (holder == false and redis.call('EXISTS', ARGV[i + 1]) == 0) then
    redis.call('SET', ARGV[i], ARGV[1], 'PX', ARGV[2])
    renewed = renewed + 1
  end
end
return renewed`,
  },

  /**
   * KEYS: slots (sorted set: holder → lease expiry), cooldown, queue (holder → end of its
   * wait's lease). ARGV: holder, max (-1 = no cap), leaseMs, grants channel, events channel,
   * events message ('' = none). Drops expired holders (dead instances), then grants a slot
   * when there is room and no cooldown; a full slot queues the holder instead, for a
   * release to grant it. Returns {granted, cooldown ms left}.
   */
  acquireSlot: {
    keys: 3,
    lua: `${NOW}
${GRANT_QUEUED}
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local lease = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {1, 0}
end
local max = tonumber(ARGV[2])
if max >= 0 and redis.call('ZCARD', KEYS[1]) >= max then
  redis.call('ZADD', KEYS[3], 'NX', now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[3], lease * 2)
  return {0, 0}
end
redis.call('ZREM', KEYS[3], ARGV[1])
local coolUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
if coolUntil > now then return {0, coolUntil - now} end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
grantQueued(now, lease, max, ARGV[4])
return {1, 0}`,
  },

  /**
   * KEYS: slots, cooldown, queue. ARGV: holder, cooldownMs, ran (1/0), max, leaseMs, next
   * holder of this instance to queue ('' = none), grants channel, slots channel, events
   * channel, events message. Frees the slot (or takes a holder that gave up out of the
   * queue), starts the cooldown when the run ran, queues `next` (so that its ask costs no
   * round trip of its own) and grants the freed room to the first queued holders, naming
   * each on the grants channel. While the key cools down, queued holders are told on the
   * slots channel to ask again when it ends. Returns 1 when the holder held the slot.
   */
  releaseSlot: {
    keys: 3,
    lua: `${NOW}
${GRANT_QUEUED}
if ARGV[10] ~= '' then redis.call('PUBLISH', ARGV[9], ARGV[10]) end
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local cooldown = tonumber(ARGV[2])
if ARGV[3] == '1' and cooldown > 0 then
  local coolUntil = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now + cooldown)
  redis.call('SET', KEYS[2], coolUntil, 'PX', coolUntil - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local lease = tonumber(ARGV[5])
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[3], 'NX', now + lease, ARGV[6])
  redis.call('PEXPIRE', KEYS[3], lease * 2)
end
if tonumber(redis.call('GET', KEYS[2]) or '0') > now then
  if redis.call('ZCARD', KEYS[3]) > 0 then redis.call('PUBLISH', ARGV[8], KEYS[1]) end
else
  grantQueued(now, lease, tonumber(ARGV[4]), ARGV[7])
end
return removed`,
  },

  /**
   * ARGV: leaseMs, then key/holder pairs: a slots key and a held slot's holder, or a queue
   * key and a waiting holder. Renews both alike (re-adding them after a Redis restart).
   */
  renewSlots: {
    keys: 0,
    lua: `${NOW}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('ZADD', ARGV[i], now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', ARGV[i], lease * 2)
end
return 1`,
  },

  /** KEYS: instances, instance info. ARGV: id, info JSON (an object), TTL ms. */
  heartbeat: {
    keys: 2,
    lua: `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local info = string.sub(ARGV[2], 1, -2) .. ',"lastHeartbeat":' .. now .. '}'
redis.call('SET', KEYS[2], info, 'PX', ttl)
return now`,
  },

  /** KEYS: instances. ARGV: window ms, info key prefix. The info of instances seen within the window. */
  listInstances: {
    keys: 1,
    lua: `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = ARGV[2] .. id end
return redis.call('MGET', unpack(keys))`,
  },

  /**
   * KEYS: instances, instance info. ARGV: id, channel, then slots-key/holder pairs.
   * On stop: frees this instance's slots (waking waiters elsewhere) and its presence.
   * Tick leases are left to expire, so a tick still running is taken over, not lost.
   */
  releaseAll: {
    keys: 2,
    lua: `for i = 3, #ARGV, 2 do
  redis.call('ZREM', ARGV[i], ARGV[i + 1])
  redis.call('PUBLISH', ARGV[2], ARGV[i])
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`,
  },
} as const;
