-- Accepts one callback request, or says why not, in one atomic step: the idempotency key, then
-- the limits in the order the SQLite store checks them, then the request, its due entry and
-- everything the next request's limits count. Nothing is written unless the request is stored
-- (old entries leaving their windows aside).
--
-- KEYS[1] idempotency record       KEYS[5] queue's pending set
-- KEYS[2] the request's hash        KEYS[6] address's requests (id -> accepted at)
-- KEYS[3] due set (id -> due at)    KEYS[7] address's numbers (number digest -> last named at)
-- KEYS[4] accepted (id -> at)       then per number: its requests (id -> at), its latest request
--                                   on this queue (string id)
-- ARGV: now, id, with key (1/0), body digest, per number daily, per address hourly, per address
-- daily, numbers per address daily, pending per queue, daily limit, pending window (ms), request
-- key prefix, queue, numbers (JSON), number hint, user name, scheduled time, country code, client
-- address, latest TTL (ms), then the numbers' digests.
--
-- Returns {'accepted', id} | {'replay', id, digest, status, hint} | {'pending', id} |
-- {'too_many', retry_after_ms} | {'queue_full', pending} | {'daily'}

local DAY = 86400000
local HOUR = 3600000
local now = tonumber(ARGV[1])
local id = ARGV[2]
local numbers = (#KEYS - 7) / 2

-- The key's first request is the answer, whatever the limits say now.
if ARGV[3] == '1' then
  local earlier = redis.call('HMGET', KEYS[1], 'digest', 'id')
  if earlier[1] then
    local state = redis.call('HMGET', ARGV[12] .. earlier[2], 'status', 'number_hint')
    if state[1] then
      return {'replay', earlier[2], earlier[1], state[1], state[2]}
    end
  end
end

-- A request for the same number on the same queue still on its way, or created so recently that
-- a second one would make the agent call twice.
local window_start = now - tonumber(ARGV[11])
for i = 1, numbers do
  local latest = redis.call('GET', KEYS[7 + 2 * i])
  if latest then
    local state = redis.call('HMGET', ARGV[12] .. latest, 'status', 'accepted_at')
    if state[1] == 'pending' or (state[1] == 'created' and tonumber(state[2]) > window_start) then
      return {'pending', latest}
    end
  end
end

-- Entries older than a day count for nothing any more.
local day_start = now - DAY
local function trimmed(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', day_start)
  return key
end

-- The time the oldest entry of `key` from `since` on leaves a window of `length`.
local function too_many(key, since, length)
  local oldest = redis.call('ZRANGE', key, '(' .. since, '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
  local at = now
  if oldest[2] then at = tonumber(oldest[2]) end
  return {'too_many', math.max(at + length - now, 0)}
end

for i = 1, numbers do
  local key = trimmed(KEYS[6 + 2 * i])
  if redis.call('ZCARD', key) >= tonumber(ARGV[5]) then
    return too_many(key, day_start, DAY)
  end
end

local address = trimmed(KEYS[6])
local hour_start = now - HOUR
if redis.call('ZCOUNT', address, '(' .. hour_start, '+inf') >= tonumber(ARGV[6]) then
  return too_many(address, hour_start, HOUR)
end
if redis.call('ZCARD', address) >= tonumber(ARGV[7]) then
  return too_many(address, day_start, DAY)
end

local named = trimmed(KEYS[7])
local new = 0
for i = 1, numbers do
  if not redis.call('ZSCORE', named, ARGV[20 + i]) then new = new + 1 end
end
if redis.call('ZCARD', named) + new > tonumber(ARGV[8]) then
  return too_many(named, day_start, DAY)
end

local pending = redis.call('SCARD', KEYS[5])
if pending >= tonumber(ARGV[9]) then
  return {'queue_full', pending}
end
if redis.call('ZCARD', trimmed(KEYS[4])) >= tonumber(ARGV[10]) then
  return {'daily'}
end

redis.call('HSET', KEYS[2], 'queue', ARGV[13], 'numbers', ARGV[14], 'number_hint', ARGV[15],
  'client_address', ARGV[19], 'status', 'pending', 'accepted_at', now, 'attempts', 0)
for _, field in ipairs({{'user_name', 16}, {'scheduled_time', 17}, {'country_code', 18}}) do
  if ARGV[field[2]] ~= '' then redis.call('HSET', KEYS[2], field[1], ARGV[field[2]]) end
end
redis.call('ZADD', KEYS[3], now, id)
redis.call('ZADD', KEYS[4], now, id)
redis.call('PEXPIRE', KEYS[4], DAY)
redis.call('SADD', KEYS[5], id)
redis.call('ZADD', address, now, id)
redis.call('PEXPIRE', address, DAY)
for i = 1, numbers do
  redis.call('ZADD', KEYS[6 + 2 * i], now, id)
  redis.call('PEXPIRE', KEYS[6 + 2 * i], DAY)
  redis.call('SET', KEYS[7 + 2 * i], id, 'PX', ARGV[20])
  redis.call('ZADD', named, 'GT', now, ARGV[20 + i])
end
redis.call('PEXPIRE', named, DAY)
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'digest', ARGV[4], 'id', id)
  redis.call('PEXPIRE', KEYS[1], DAY)
end
return {'accepted', id}
