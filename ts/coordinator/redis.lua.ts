/**
 * The Lua scripts of RedisCoordinator. Each runs atomically in Redis, which is what makes
 * an election or a slot count correct when instances race. Times come from Redis's own
 * clock (TIME), so instances whose clocks disagree still agree on leases and cooldowns.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Grants the room of slot KEYS[1] to the first entries of its queue KEYS[3], in the order
 * they queued, and tells each instance which of its holders got one: one message per
 * instance and script, a JSON array of holders on the instance's own grants channel. A
 * queue entry names both (`<bytes of holder>:<holder><channel>`, see queueEntry in
 * redisslots.ts), so that no other instance hears of it. Holders of the instance running
 * the script (its channel: `own`) are returned instead, for the script's reply. A granted
 * holder that already held the slot (a lost message, then an ask) is only renewed; the
 * loop ends with the queue.
 */
const GRANT_QUEUED = `local function split(entry)
  local colon = string.find(entry, ':', 1, true)
  local size = tonumber(string.sub(entry, 1, colon - 1))
  return string.sub(entry, colon + 1, colon + size), string.sub(entry, colon + size + 1)
end
local function shareOf(max, contenders, own, now)
  if max < 0 then return -1 end
  redis.call('ZREMRANGEBYSCORE', contenders, '-inf', now)
  local count = redis.call('ZCARD', contenders)
  if not redis.call('ZSCORE', contenders, own) then count = count + 1 end
  return math.floor(max / count)
end
local function grantQueued(now, lease, max, own)
  local grants = {}
  local mine = {}
  local any = false
  while max < 0 or redis.call('ZCARD', KEYS[1]) < max do
    local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    if not head then break end
    redis.call('ZREM', KEYS[3], head)
    local holder, channel = split(head)
    redis.call('ZADD', KEYS[1], now + lease, holder)
    if channel == own then
      table.insert(mine, holder)
    else
      if not grants[channel] then grants[channel] = {} end
      table.insert(grants[channel], holder)
    end
    any = true
  end
  if any then
    redis.call('PEXPIRE', KEYS[1], lease * 2)
    for channel, holders in pairs(grants) do redis.call('PUBLISH', channel, cjson.encode(holders)) end
  end
  return mine
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
   * KEYS: slots (sorted set: holder → lease expiry), cooldown, queue (queue entry → end of
   * its wait's lease), contenders (grants channel of each instance waiting for the slot →
   * end of its lease). ARGV: holder, its queue entry, max (-1 = no cap), leaseMs, events
   * channel, events message ('' = none), this instance's grants channel, shares channel.
   * Drops expired holders (dead instances), then grants a slot when there is room and no
   * cooldown; a full slot queues the holder instead: its instance contends for the slot,
   * and the new share is announced on the shares channel (`[slot key, share]`), so that
   * instances holding more give the rest back. Returns {granted, cooldown ms left, share}.
   */
  acquireSlot: {
    keys: 4,
    lua: `${NOW}
${GRANT_QUEUED}
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local lease = tonumber(ARGV[4])
local max = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[2])
  return {1, 0, shareOf(max, KEYS[4], ARGV[7], now)}
end
if max >= 0 and redis.call('ZCARD', KEYS[1]) >= max then
  redis.call('ZADD', KEYS[3], 'NX', now + lease, ARGV[2])
  redis.call('PEXPIRE', KEYS[3], lease * 2)
  redis.call('ZADD', KEYS[4], now + lease, ARGV[7])
  redis.call('PEXPIRE', KEYS[4], lease * 2)
  local share = shareOf(max, KEYS[4], ARGV[7], now)
  redis.call('PUBLISH', ARGV[8], cjson.encode({KEYS[1], share}))
  return {0, 0, share}
end
redis.call('ZREM', KEYS[3], ARGV[2])
local coolUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
if coolUntil > now then return {0, coolUntil - now, 0} end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
grantQueued(now, lease, max, '')
return {1, 0, shareOf(max, KEYS[4], ARGV[7], now)}`,
  },

  /**
   * KEYS: slots, cooldown, queue, contenders. ARGV: cooldownMs, max, leaseMs, slots
   * channel, events channel, events message, this instance's grants channel, how many
   * slots of the key this instance holds besides these, n, m, then n holder / queue
   * entry / ran (1/0) triples, then m from holder / to holder / to's queue entry triples,
   * then the queue entries of this instance's next waiting runs.
   *
   * Records the slots the instance handed from one of its runs to the next by itself
   * (within its share, so the count stays). Frees the holders' slots (or takes holders that gave up out of the queue) and starts
   * the cooldown when a run ran. The next runs take the freed slots straight away while
   * the instance holds less than its share (the cap over the instances contending for
   * the slot, rounded down), so that a contended slot mostly stays where it is and its
   * next run needs no message; beyond its share they queue behind the others'. The slots
   * beyond all shares (all of a mutex's, once two instances want it) go round in the
   * queue's order, so no instance waits for ever. Then the room left goes
   * to the first queued holders. While the key cools down, queued holders are told on the
   * slots channel to ask again when it ends. Returns the instance's share, then the
   * holders of this instance it granted a slot to (those of others are named on their
   * grants channels).
   */
  releaseSlot: {
    keys: 4,
    lua: `${NOW}
${GRANT_QUEUED}
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
local cooldown = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local n = tonumber(ARGV[9])
local m = tonumber(ARGV[10])
local ran = false
for i = 11 + 3 * n, 10 + 3 * n + 3 * m, 3 do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i + 1])
  redis.call('ZREM', KEYS[3], ARGV[i + 2])
end
for i = 11, 10 + 3 * n, 3 do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[3], ARGV[i + 1])
  if ARGV[i + 2] == '1' then ran = true end
end
if ran and cooldown > 0 then
  local coolUntil = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now + cooldown)
  redis.call('SET', KEYS[2], coolUntil, 'PX', coolUntil - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local cooling = tonumber(redis.call('GET', KEYS[2]) or '0') > now
local mine = {}
local first = 11 + 3 * n + 3 * m
if #ARGV >= first then
  redis.call('ZADD', KEYS[4], now + lease, ARGV[7])
  redis.call('PEXPIRE', KEYS[4], lease * 2)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  local share = math.huge
  if max >= 0 then share = shareOf(max, KEYS[4], ARGV[7], now) end
  local held = tonumber(ARGV[8])
  for i = first, #ARGV do
    if not cooling and held < share and (max < 0 or redis.call('ZCARD', KEYS[1]) < max) then
      local holder = split(ARGV[i])
      redis.call('ZADD', KEYS[1], now + lease, holder)
      table.insert(mine, holder)
      held = held + 1
    else
      redis.call('ZADD', KEYS[3], 'NX', now + lease, ARGV[i])
    end
  end
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  redis.call('PEXPIRE', KEYS[3], lease * 2)
end
if m > 0 then redis.call('PEXPIRE', KEYS[1], lease * 2) end
table.insert(mine, 1, shareOf(max, KEYS[4], ARGV[7], now))
if cooling then
  if redis.call('ZCARD', KEYS[3]) > 0 then redis.call('PUBLISH', ARGV[4], KEYS[1]) end
  return mine
end
for _, holder in ipairs(grantQueued(now, lease, max, ARGV[7])) do table.insert(mine, holder) end
return mine`,
  },

  /**
   * ARGV: leaseMs, then key/member pairs: a slots key and a held slot's holder, a queue
   * key and a waiting holder's queue entry, or a contenders key and this instance's grants
   * channel. Renews them alike (re-adding them after a Redis restart).
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
