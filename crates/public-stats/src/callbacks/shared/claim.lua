-- Claims the pending job due soonest for one instance: its due entry moves to now + lease, so no
-- other instance takes it while this one delivers (and renews the lease), and every other
-- instance takes it once the lease lapses unrenewed, which is what a dead instance leaves.
--
-- KEYS[1] due set (id -> due at). ARGV: now, lease (ms), claim token, request key prefix.
-- Returns {'claimed', id, queue, numbers, user_name, scheduled_time, country_code, accepted_at,
-- attempts, number_hint} | {'later', due_at} | {'nothing'}

local now = tonumber(ARGV[1])
while true do
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not first[1] then
    return {'nothing'}
  end
  if tonumber(first[2]) > now then
    return {'later', first[2]}
  end
  local id = first[1]
  local key = ARGV[4] .. id
  if redis.call('HGET', key, 'status') == 'pending' then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    redis.call('HSET', key, 'claim', ARGV[3])
    local job = redis.call('HMGET', key, 'queue', 'numbers', 'user_name', 'scheduled_time',
      'country_code', 'accepted_at', 'attempts', 'number_hint')
    return {'claimed', id, job[1], job[2], job[3], job[4], job[5], job[6], job[7], job[8]}
  end
  -- Settled (or gone) but still listed: only a crash between two writes could leave it.
  redis.call('ZREM', KEYS[1], id)
end
