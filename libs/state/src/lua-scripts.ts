import { LuaScript } from './lua-script';

/*
 * Every state change that reads before it writes is one Lua script, so concurrent consumers (and redeliveries)
 * cannot interleave between the read and the write.
 *
 * Multi-key task scripts receive KEYS in the order of allTaskKeys():
 *   1 task hash, 2 channels hash, 3 completed-event guard, 4 failed-event guard, 5 planned-batches set,
 *   6 notification subscriptions, 7 channel inputs hash, 8 fingerprint reservation, 9 accepted-event guard,
 *   10 channel-stored event guards, 11 the task's content as sent, 12 writes under way, 13 cancelled-event guard.
 * Scripts that only need two keys get [task, <that key>].
 */

const HELPERS = `
-- A key created after the task hash got its TTL takes the task's remaining TTL, so no key outlives its task.
local function inheritTtl(taskKey, key)
  local ttl = redis.call('PTTL', taskKey)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end

local function expireAll(seconds)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], seconds) end
end

-- The server's clock, so processes on different hosts agree on when a lease runs out.
local function nowMs()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

local function counters(taskKey)
  local v = redis.call('HMGET', taskKey, 'done', 'failed', 'total')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
end
`;

function script(name: string, body: string): LuaScript {
  return new LuaScript(name, `${HELPERS}\n${body}`);
}

/**
 * KEYS: task. ARGV: activeTtlMs (0 = none), field, value, ... Returns {created 0|1, HGETALL of the task}.
 * A pending record without channels is the one a retry leaves of a task that failed before it was accepted: it is
 * filled in (its attempt kept) as if new.
 */
export const CREATE_TASK = script(
  'createTask',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local placeholder = redis.call('HGET', KEYS[1], 'status') == 'pending' and tonumber(redis.call('HGET', KEYS[1], 'total')) == 0
  if not placeholder then return {0, redis.call('HGETALL', KEYS[1])} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return {1, redis.call('HGETALL', KEYS[1])}
`,
);

/**
 * KEYS: task, fingerprint reservation, content. ARGV: fingerprint, reservationTtlMs, the task's content (JSON).
 * Returns 'reserved' (first claim, or a repeat of it), 'same' (the task exists with this content) or 'conflict'
 * (the id is taken by different content). Only 'reserved' and 'same' may go on to record inputs and the task. The
 * content is kept beside the reservation: it is what a retry runs again. A record without a fingerprint (one left by a
 * task that failed before it was accepted) goes by the reservation.
 */
export const RESERVE_TASK = script(
  'reserveTask',
  `
local recorded = redis.call('HGET', KEYS[1], 'fingerprint')
if recorded then
  if recorded ~= ARGV[1] then return 'conflict' end
  if redis.call('SET', KEYS[3], ARGV[3], 'NX') then inheritTtl(KEYS[1], KEYS[3]) end
  return 'same'
end
local reserved = redis.call('GET', KEYS[2])
if reserved and reserved ~= ARGV[1] then return 'conflict' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
return 'reserved'
`,
);

/**
 * KEYS: all task keys. ARGV: activeTtlMs (0 = none), now, '1' when the task's content must be recorded, '1' when a
 * cancelled task may be run again.
 * Starts the next run of a failed or partial task (or a cancelled one, when a person asks for it: nothing automatic
 * may bring a cancelled task back): its attempt goes up by one, its progress (counters, channel records, planned
 * batches, writes under way), its cancellation and every once-only event guard are cleared, and it is pending again
 * with the active TTL; what it was accepted with (record, inputs, fingerprint, content, subscriptions) is kept. Returns
 * {'reset', attempt, previous status} | {'no-task'} | {'running', status} | {'done'} | {'cancelled'} | {'no-content'};
 * only 'reset' changed anything.
 */
export const RETRY_TASK = script(
  'retryTask',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'no-task'} end
if status == 'pending' or status == 'running' then return {'running', status} end
if status == 'cancelled' and ARGV[4] ~= '1' then return {'cancelled'} end
if status ~= 'failed' and status ~= 'partial' and status ~= 'cancelled' then return {'done'} end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[11]) == 0 then return {'no-content'} end
local attempt = (tonumber(redis.call('HGET', KEYS[1], 'attempt')) or 1) + 1
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempt', attempt, 'done', 0, 'failed', 0, 'kept', 0, 'updatedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'error', 'finishedAt', 'stalledAt', 'cancelledBy', 'cancelReason')
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[9], KEYS[10], KEYS[12], KEYS[13])
local ttl = tonumber(ARGV[1])
for _, i in ipairs({1, 6, 7, 8, 11}) do
  if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
end
return {'reset', attempt, status}
`,
);

/**
 * KEYS: task, channels, writes under way. ARGV: channel, outcome ('stored'|'failed'), record JSON, now, the error code
 * of a task failed because all its channels failed (such a task becomes partial or done when a channel is replayed),
 * and '1' when a stored output was kept (found already holding these bytes) rather than written.
 * Returns {-1} when the task does not exist, else {recorded, replacedFailure, done, failed, total, status, the
 * channel's status after the call or ''}.
 *
 * First terminal record: count it. Stored after failed (parking-lot replay): move it from failed to done.
 * Anything else (redelivery, failed after stored): change nothing. A cancelled task records nothing more, except the
 * outcome of a write that was under way when it was cancelled (its object is in the target: the record says so, and the
 * cancel waits for such writes before it reports).
 */
export const MARK_CHANNEL = script(
  'markChannel',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local channel, outcome = ARGV[1], ARGV[2]
local previous = redis.call('HGET', KEYS[2], channel)
local previousStatus = false
if previous then previousStatus = cjson.decode(previous)['status'] end
local writeEnds = tonumber(redis.call('HGET', KEYS[3], channel))
redis.call('HDEL', KEYS[3], channel)
if redis.call('HGET', KEYS[1], 'status') == 'cancelled' and not (writeEnds and writeEnds > nowMs()) then
  local done, failed, total = counters(KEYS[1])
  return {0, 0, done, failed, total, 'cancelled', previousStatus or ''}
end

local recorded, replaced = 0, 0
if not previousStatus then
  recorded = 1
  if outcome == 'stored' then
    redis.call('HINCRBY', KEYS[1], 'done', 1)
    if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[1], 'kept', 1) end
  else
    redis.call('HINCRBY', KEYS[1], 'failed', 1)
  end
elseif previousStatus == 'failed' and outcome == 'stored' then
  recorded, replaced = 1, 1
  redis.call('HINCRBY', KEYS[1], 'done', 1)
  if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[1], 'kept', 1) end
  redis.call('HINCRBY', KEYS[1], 'failed', -1)
end

local done, failed, total = counters(KEYS[1])
local status = redis.call('HGET', KEYS[1], 'status')
if recorded == 1 then
  redis.call('HSET', KEYS[2], channel, ARGV[3])
  inheritTtl(KEYS[1], KEYS[2])
  if status == 'pending' then
    status = 'running'
  elseif status == 'partial' and failed == 0 then
    -- the last failed channel of a finished task was replayed successfully
    status = 'done'
  elseif status == 'failed' and replaced == 1 and ARGV[5] then
    -- a task failed because every channel failed has something to hand out again
    local err = redis.call('HGET', KEYS[1], 'error')
    if err and cjson.decode(err)['code'] == ARGV[5] then
      if failed == 0 then status = 'done' else status = 'partial' end
    end
  end
  redis.call('HSET', KEYS[1], 'status', status, 'updatedAt', ARGV[4])
  -- progress ends a stall
  redis.call('HDEL', KEYS[1], 'stalledAt')
  previousStatus = outcome
end
return {recorded, replaced, done, failed, total, status, previousStatus or ''}
`,
);

/**
 * KEYS: task, event guard. ARGV: owner, leaseMs.
 * Returns 'no-task' | 'claimed' | 'already-sent' | 'held-by-other'. Re-claiming one's own lease renews it.
 */
export const CLAIM_EVENT = script(
  'claimEvent',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'no-task' end
local lease = 'lease:' .. ARGV[1]
local current = redis.call('GET', KEYS[2])
if current == 'sent' then return 'already-sent' end
if current and current ~= lease then return 'held-by-other' end
redis.call('SET', KEYS[2], lease, 'PX', ARGV[2])
return 'claimed'
`,
);

/** KEYS: task, event guard. ARGV: owner. Deletes the lease only if this owner still holds it. Returns 1|0. */
export const RELEASE_EVENT = script(
  'releaseEvent',
  `
if redis.call('GET', KEYS[2]) == 'lease:' .. ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`,
);

/**
 * KEYS: task, channel-stored event guards. ARGV: channel, owner, leaseMs.
 * Returns 'no-task' | 'claimed' | 'already-sent' | 'held-by-other', as claimEvent does for one channel's
 * channel.stored. The lease's expiry sits in the field (hash fields have no TTL of their own) and is read against the
 * server's clock, so claimants on different hosts agree on it.
 */
export const CLAIM_CHANNEL_EVENT = script(
  'claimChannelEvent',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'no-task' end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current == 'sent' then return 'already-sent' end
local now = nowMs()
if current then
  local holder, expires = string.match(current, '^lease:(.*):(%d+)$')
  if holder ~= ARGV[2] and expires and tonumber(expires) > now then return 'held-by-other' end
end
redis.call('HSET', KEYS[2], ARGV[1], 'lease:' .. ARGV[2] .. ':' .. string.format('%d', now + tonumber(ARGV[3])))
inheritTtl(KEYS[1], KEYS[2])
return 'claimed'
`,
);

/** KEYS: task, channel-stored event guards. ARGV: channel, owner. Drops the lease only if this owner holds it. */
export const RELEASE_CHANNEL_EVENT = script(
  'releaseChannelEvent',
  `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and string.sub(current, 1, #ARGV[2] + 7) == 'lease:' .. ARGV[2] .. ':' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
`,
);

/** KEYS: task, channel-stored event guards. ARGV: channel. Marks its channel.stored sent. Returns 0 when no task. */
export const CONFIRM_CHANNEL_EVENT = script(
  'confirmChannelEvent',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'sent')
inheritTtl(KEYS[1], KEYS[2])
return 1
`,
);

/** KEYS: task, event guard. Marks the event sent for as long as the task lives. Returns 0 when no task. */
export const CONFIRM_EVENT = script(
  'confirmEvent',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], 'sent')
inheritTtl(KEYS[1], KEYS[2])
return 1
`,
);

/**
 * KEYS: all task keys. ARGV: finishedTtlSeconds, now.
 * Returns {'no-task'} | {'incomplete', done, failed, total} | {status, done, failed, total}. A cancelled task is left
 * as it is: it never completes.
 */
export const CONFIRM_COMPLETION = script(
  'confirmCompletion',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'no-task'} end
local done, failed, total = counters(KEYS[1])
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'cancelled' then return {status, done, failed, total} end
if done + failed < total then return {'incomplete', done, failed, total} end
if status ~= 'failed' then
  local final = 'done'
  if failed > 0 then final = 'partial' end
  if final ~= status then
    status = final
    redis.call('HSET', KEYS[1], 'status', status, 'updatedAt', ARGV[2])
  end
  redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[2])
end
redis.call('SET', KEYS[3], 'sent')
expireAll(ARGV[1])
return {status, done, failed, total}
`,
);

/**
 * KEYS: all task keys. ARGV: taskId, error JSON, now, finishedTtlSeconds.
 * Returns {1, 'failed'} when this call failed the task, {0, status} when it was already finished.
 * An unknown task is created as failed (total 0) so that e.g. a task rejected before acceptance is still queryable.
 */
export const FAIL_TASK = script(
  'failTask',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'done' or status == 'partial' or status == 'failed' or status == 'cancelled' then return {0, status} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'taskId', ARGV[1], 'total', 0, 'done', 0, 'failed', 0, 'batches', 0,
    'master', '', 'target', '', 'createdAt', ARGV[3])
end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2], 'updatedAt', ARGV[3], 'finishedAt', ARGV[3])
expireAll(ARGV[4])
return {1, 'failed'}
`,
);

/**
 * KEYS: all task keys. ARGV: now, finishedTtlSeconds, by ('' = not given), reason ('' = not given).
 * Returns {'no-task'} | {outcome, status, done, failed, total}: 'cancelled' when this call moved a pending or running
 * task to cancelled (its keys then take the finished TTL), 'already-cancelled', 'finished' (done/partial/failed: left
 * alone), or 'completing': every channel is accounted for, so its completion is under way and is left to finish (a task
 * must not end both completed and cancelled). Channel records stay as they are.
 */
export const CANCEL_TASK = script(
  'cancelTask',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'no-task'} end
local done, failed, total = counters(KEYS[1])
if status == 'cancelled' then return {'already-cancelled', status, done, failed, total} end
if status ~= 'pending' and status ~= 'running' then return {'finished', status, done, failed, total} end
if total > 0 and done + failed >= total then return {'completing', status, done, failed, total} end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updatedAt', ARGV[1], 'finishedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'stalledAt')
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'cancelledBy', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'cancelReason', ARGV[4]) end
expireAll(ARGV[2])
return {'cancelled', 'cancelled', done, failed, total}
`,
);

/**
 * KEYS: task, writes under way. ARGV: channel, leaseMs.
 * Returns 'no-task', 'cancelled' (write nothing), or 'go' after registering the write until it is marked (or the lease
 * runs out), so a cancel can wait for the writes it did not stop.
 */
export const BEGIN_WRITE = script(
  'beginWrite',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'no-task' end
if status == 'cancelled' then return 'cancelled' end
redis.call('HSET', KEYS[2], ARGV[1], nowMs() + tonumber(ARGV[2]))
inheritTtl(KEYS[1], KEYS[2])
return 'go'
`,
);

/** KEYS: writes under way. Returns how many writes are registered and within their lease. */
export const WRITES_UNDER_WAY = script(
  'writesUnderWay',
  `
local now = nowMs()
local count = 0
local values = redis.call('HVALS', KEYS[1])
for i = 1, #values do
  if tonumber(values[i]) > now then count = count + 1 end
end
return count
`,
);

/**
 * KEYS: task. ARGV: now.
 * Returns 'no-task' | 'finished' | 'already' (this stall was reported) | 'marked' (first report of this stall: the
 * caller announces it). Progress (MARK_CHANNEL) clears stalledAt, so a later stall is reported again.
 */
export const MARK_STALLED = script(
  'markStalled',
  `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'no-task' end
if status ~= 'pending' and status ~= 'running' then return 'finished' end
if redis.call('HSETNX', KEYS[1], 'stalledAt', ARGV[1]) == 0 then return 'already' end
return 'marked'
`,
);

/** KEYS: task, planned-batches set. ARGV: batch index. Returns -1 when no task, else 1 first time / 0 repeat. */
export const MARK_BATCH_PLANNED = script(
  'markBatchPlanned',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local added = redis.call('SADD', KEYS[2], ARGV[1])
inheritTtl(KEYS[1], KEYS[2])
return added
`,
);

/**
 * KEYS: task, subscriptions. ARGV: JSON, TTL in ms for a task not recorded yet. The subscriptions are saved before the
 * task is (a task rejected while reading its master still notifies its subscribers); they take the task's TTL.
 */
export const SAVE_SUBSCRIPTIONS = script(
  'saveSubscriptions',
  `
redis.call('SET', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
elseif tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`,
);

/**
 * KEYS: window sorted set. ARGV: now (ms), window (ms), limit, member. Sliding-window limiter: records the call and
 * returns 0 when fewer than `limit` calls happened in the last window, else how many ms until one slot frees up.
 */
export const TAKE_RATE_SLOT = script(
  'takeRateSlot',
  `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`,
);
