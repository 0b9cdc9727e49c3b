-- Extends an instance's claim on a job while its send is in flight, if the claim is still its own.
--
-- KEYS[1] due set, KEYS[2] the request's hash. ARGV: id, claim token, due at (now + lease).
-- Returns 1 when renewed, 0 when the claim is no longer this instance's.

if redis.call('HGET', KEYS[2], 'claim') ~= ARGV[2]
    or redis.call('HGET', KEYS[2], 'status') ~= 'pending' then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
