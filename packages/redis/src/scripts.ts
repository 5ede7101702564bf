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

/**
 * The owner-quota charge of a new entry, for the scripts below that create an entry and charge
 * its owner in the same step (one round trip instead of two). KEYS[2] = the owner's counter;
 * ARGV[3] = the most entries per window; ARGV[4] = the window in milliseconds. Over the quota the
 * new entry is removed again, as the two-step path does (operations.ts).
 */
const CHARGE_OWNER = `
local function charged()
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  if count > tonumber(ARGV[3]) then
    redis.call('DEL', KEYS[1])
    return false
  end
  return true
end
`;

/**
 * add(key, value, ttl) charged to an owner, in one step: SET NX PX, then the owner's count when
 * the entry is new. KEYS[1] = the entry; ARGV[1] = its value; ARGV[2] = TTL in milliseconds.
 * Returns 0 when the key existed, 1 when it was created, -1 when it was created but the owner is
 * over its quota (the entry is gone again). Two keys, so only where both live on one server
 * (standalone and Sentinel, not Cluster: "Redis Cluster specification", multi-key operations).
 */
export const ADD_CHARGED = script(`${CHARGE_OWNER}
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
if charged() then return 1 end
return -1
`);

/**
 * advance(key, value, ttl) charged to an owner when it creates the counter, in one step (the
 * ADVANCE script above, then CHARGE_OWNER). KEYS[1] = the counter; ARGV[1] = the new value;
 * ARGV[2] = TTL in milliseconds. Returns ADVANCE's 0, 1 or 2, or -1 when it created the counter
 * but the owner is over its quota (the counter is gone again).
 */
export const ADVANCE_CHARGED = script(`${CHARGE_OWNER}
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(current)
  if stored == nil or stored >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if current then return 1 end
if charged() then return 2 end
return -1
`);
