-- Records what one delivery attempt came to.
--
-- 'created' is recorded whoever holds the claim: Genesys has the callback, and that is a fact no
-- other instance's attempt should undo. 'failed' and 'retry' are recorded only by the claim's
-- holder: an instance whose lease lapsed (it stalled) must not reschedule or fail a job another
-- instance has since taken over, or delivered.
--
-- KEYS[1] the request's hash, KEYS[2] due set, KEYS[3] the queue's pending set.
-- ARGV: id, outcome ('created' | 'failed' | 'retry'), claim token, now, retry at (ms) or
-- conversation id, how long a settled request is kept (ms).
-- Returns 1 when recorded, 0 when there was nothing to record (settled, or claimed by another).

local state = redis.call('HMGET', KEYS[1], 'status', 'claim')
if state[1] ~= 'pending' then
  return 0
end
local outcome = ARGV[2]
if outcome ~= 'created' and state[2] ~= ARGV[3] then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HDEL', KEYS[1], 'claim')
if outcome == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], 'status', outcome, 'settled_at', ARGV[4])
if outcome == 'created' and ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'conversation_id', ARGV[5])
end
-- The visitor's details are kept only until the request is settled.
redis.call('HDEL', KEYS[1], 'numbers', 'user_name')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
