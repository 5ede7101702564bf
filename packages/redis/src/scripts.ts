/**
 * The two read-modify-write operations as Lua scripts: Redis runs a script as one atomic step
 * (EVAL, "Atomicity of scripts"), so two nodes racing on one nonce count cannot both win.
 * Scripts are sent by SHA-1 (EVALSHA) and re-sent in full (EVAL) when the server answers
 * NOSCRIPT, after a restart or a failover. Each script touches exactly one key (KEYS[1]), which
 * Redis Cluster requires of scripts.
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * compareAndSet(key, expected, value, ttl).
 * ARGV[1] = '1' when a current value is expected, '0' when the key must be absent;
 * ARGV[2] = the expected value; ARGV[3] = the new value; ARGV[4] = TTL in milliseconds.
 * Returns 1 when it replaced the value.
 */
export const COMPARE_AND_SET = script(`
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
`);

/**
 * advance(key, value, ttl): raise an integer counter only when the new value is greater
 * (RFC 7616 §3.4: the nonce count must increase, so a repeated nc is a replay).
 * ARGV[1] = the new value (a decimal integer); ARGV[2] = TTL in milliseconds.
 * A stored value that is not a number refuses the update (fail closed).
 * Returns 0 when it did not advance, 1 when it raised an existing counter, 2 when it created one
 * (only creations count towards the owner quota).
 */
export const ADVANCE = script(`
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(current)
  if stored == nil or stored >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if current then return 1 end
return 2
`);

/**
 * The owner quota: count one new entry of an owner in a fixed window.
 * KEYS[1] = the owner's counter; ARGV[1] = the most entries per window; ARGV[2] = the window in
 * milliseconds. Returns 1 when the entry fits, 0 when the owner is over its quota.
 */
export const OWNER_QUOTA = script(`
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return 0 end
return 1
`);
