//! The Lua scripts that make each state change of a job atomic in Redis.
//!
//! A job lives in two places: an entry of the queue's stream (read by workers through the
//! consumer group) and a hash `job:<id>` holding its state (`s`: `q` queued, `r` running,
//! `d` done, `c` cancelled, `x` dead-lettered), the stream entry id (`e`), the worker
//! running it (`w`), the reply lists of the clients waiting for it (`to`), and, once
//! finished, its encoded outcome (`res`, kept for the result TTL). Every transition is one
//! script, so a cancel and a worker claiming the job cannot both win.
//!
//! Keys are built inside the scripts from the queue's prefix, which carries the queue's
//! hash tag: every key a script touches is in the slot of its declared keys.

use std::sync::LazyLock;

use redis::Script;

/// Functions shared by the scripts.
const COMMON: &str = r#"
local function subscribe(jk, reply)
  local to = redis.call('HGET', jk, 'to') or ''
  if not string.find(' ' .. to .. ' ', ' ' .. reply .. ' ', 1, true) then
    if to == '' then to = reply else to = to .. ' ' .. reply end
    redis.call('HSET', jk, 'to', to)
  end
end
local function notify(jk, id, outcome, ttl)
  local to = redis.call('HGET', jk, 'to')
  if to then
    for r in string.gmatch(to, '%S+') do
      redis.call('RPUSH', r, 'r ' .. id .. ' ' .. outcome)
      redis.call('PEXPIRE', r, ttl)
    end
  end
end
local function fields(flat)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  return f
end
local function dead_letter(stream, dead, group, prefix, eid, f, deliveries, reason, ttl)
  local id = f.id or ''
  local jk = prefix .. 'job:' .. id
  if id ~= '' then
    reason = redis.call('HGET', jk, 'why') or reason
  end
  redis.call('XADD', dead, '*', 'id', id, 'name', f.name or '', 'payload', f.payload or '',
    'reason', reason, 'deliveries', tostring(deliveries), 'entry', eid)
  if id ~= '' and redis.call('EXISTS', jk) == 1 then
    local res = cjson.encode({t = 'dead', v = {reason = reason, deliveries = tonumber(deliveries)}})
    redis.call('HSET', jk, 's', 'x', 'res', res)
    redis.call('HDEL', jk, 'w')
    notify(jk, id, res, ttl)
    redis.call('PEXPIRE', jk, ttl)
  end
  redis.call('XACK', stream, group, eid)
  redis.call('XDEL', stream, eid)
end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Enqueues a batch of jobs. KEYS: stream. ARGV: prefix, max length (0: none), reply list,
/// client, ttl ms, then (id, name, payload, span) per job. Returns one status per job
/// (`+` queued, `F` queue full, `D` the id exists and is pending: subscribed to it, `R<outcome>`
/// the id exists and finished) and then the queue length.
pub(crate) static SUBMIT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, maxlen, reply, client = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local len = redis.call('XLEN', stream)
local out = {}
for i = 6, #ARGV, 4 do
  local id = ARGV[i]
  local jk = prefix .. 'job:' .. id
  local s = redis.call('HGET', jk, 's')
  if s then
    if s == 'q' or s == 'r' then
      subscribe(jk, reply)
      out[#out + 1] = 'D'
    else
      out[#out + 1] = 'R' .. redis.call('HGET', jk, 'res')
    end
  elseif maxlen > 0 and len >= maxlen then
    out[#out + 1] = 'F'
  else
    local eid = redis.call('XADD', stream, '*', 'id', id, 'name', ARGV[i + 1], 'payload', ARGV[i + 2],
      'client', client, 'span', ARGV[i + 3])
    redis.call('HSET', jk, 's', 'q', 'n', ARGV[i + 1], 'to', reply, 'e', eid)
    len = len + 1
    out[#out + 1] = '+'
  end
end
out[#out + 1] = tostring(len)
return out
"#,
    )
});

/// Subscribes to a job. KEYS: job hash. ARGV: reply list. Returns `N` (no such job),
/// `P` (pending: its outcome will be pushed to the reply list) or `R<outcome>`.
pub(crate) static ATTACH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local jk = KEYS[1]
local s = redis.call('HGET', jk, 's')
if not s then return 'N' end
if s == 'q' or s == 'r' then
  subscribe(jk, ARGV[1])
  return 'P'
end
return 'R' .. redis.call('HGET', jk, 'res')
"#,
    )
});

/// Cancels a job. KEYS: stream, job hash. ARGV: prefix, id, reply list, ttl ms, the
/// cancelled outcome. Returns `C` (cancelled: it was not claimed, it will never run),
/// `F` (running: the request was forwarded to its worker, whose answer comes on the reply
/// list), `D` (already finished) or `N` (no such job).
pub(crate) static CANCEL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream, jk = KEYS[1], KEYS[2]
local prefix, id, reply, ttl, cancelled = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local s = redis.call('HGET', jk, 's')
if not s then return 'N' end
if s == 'q' then
  local eid = redis.call('HGET', jk, 'e')
  redis.call('HSET', jk, 's', 'c', 'res', cancelled)
  if eid then redis.call('XDEL', stream, eid) end
  notify(jk, id, cancelled, ttl)
  redis.call('PEXPIRE', jk, ttl)
  return 'C'
elseif s == 'r' then
  local ctl = prefix .. 'ctl:' .. redis.call('HGET', jk, 'w')
  redis.call('RPUSH', ctl, id .. ' ' .. reply)
  redis.call('PEXPIRE', ctl, ttl)
  return 'F'
elseif s == 'c' then
  return 'C'
end
return 'D'
"#,
    )
});

/// Moves freshly read entries to running. KEYS: stream. ARGV: prefix, group, worker,
/// ttl ms, then (entry id, job id) pairs. Returns `1` (run it) or `0` (skipped: it
/// was cancelled or finished; acknowledged) per pair.
pub(crate) static START: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, me = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 5, #ARGV, 2 do
  local eid, id = ARGV[i], ARGV[i + 1]
  local jk = prefix .. 'job:' .. id
  local h = redis.call('HMGET', jk, 's', 'e')
  if h[1] == 'q' and h[2] == eid then
    redis.call('HSET', jk, 's', 'r', 'w', me)
    out[#out + 1] = '1'
  else
    redis.call('XACK', stream, group, eid)
    redis.call('XDEL', stream, eid)
    out[#out + 1] = '0'
  end
end
return out
"#,
    )
});

/// Claims entries whose worker stopped acknowledging or heartbeating, dead-lettering those
/// delivered too often. KEYS: stream, dead stream. ARGV: prefix, group, worker, min idle
/// ms, max deliveries, count, ttl ms. Returns the number dead-lettered, the queue length,
/// then (entry id, job id, name, payload, client, span, deliveries) per claimed entry.
pub(crate) static RECLAIM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream, dead = KEYS[1], KEYS[2]
local prefix, group, me = ARGV[1], ARGV[2], ARGV[3]
local min_idle, max, count, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local pend = redis.call('XPENDING', stream, group, 'IDLE', min_idle, '-', '+', count)
local out = {}
local deadn = 0
for _, p in ipairs(pend) do
  local eid, deliveries = p[1], tonumber(p[4])
  local entry = redis.call('XRANGE', stream, eid, eid)[1]
  if not entry then
    redis.call('XACK', stream, group, eid)
  else
    local f = fields(entry[2])
    local jk = prefix .. 'job:' .. (f.id or '')
    local s = redis.call('HGET', jk, 's')
    if f.id and s ~= 'q' and s ~= 'r' then
      redis.call('XACK', stream, group, eid)
      redis.call('XDEL', stream, eid)
    elseif deliveries >= max or not f.id then
      local reason = 'delivered ' .. deliveries .. ' times without an acknowledgement: the workers running it died, were killed or stopped'
      if not f.id then reason = 'the stream entry has no job id' end
      dead_letter(stream, dead, group, prefix, eid, f, deliveries, reason, ttl)
      deadn = deadn + 1
    else
      local c = redis.call('XCLAIM', stream, group, me, min_idle, eid)
      if #c > 0 then
        redis.call('HSET', jk, 's', 'r', 'w', me)
        for _, v in ipairs({eid, f.id, f.name or '', f.payload or '', f.client or '', f.span or '', tostring(deliveries + 1)}) do
          out[#out + 1] = v
        end
      end
    end
  end
end
table.insert(out, 1, tostring(redis.call('XLEN', stream)))
table.insert(out, 1, tostring(deadn))
return out
"#,
    )
});

/// Sends one entry to the dead-letter stream now (its payload cannot be decoded). KEYS:
/// stream, dead stream. ARGV: prefix, group, ttl ms, entry id, job id, name, payload,
/// reason, deliveries.
pub(crate) static DEAD: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local f = {id = ARGV[5], name = ARGV[6], payload = ARGV[7]}
if f.id == '' then f.id = nil end
dead_letter(KEYS[1], KEYS[2], ARGV[2], ARGV[1], ARGV[4], f, ARGV[9], ARGV[8], ARGV[3])
return 1
"#,
    )
});

/// Keeps this worker's running entries from being reclaimed (resets their idle time
/// without counting a delivery). KEYS: stream. ARGV: prefix, group, worker, then (entry id,
/// job id) pairs. Returns how many were refreshed.
pub(crate) static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, me = ARGV[1], ARGV[2], ARGV[3]
local n = 0
for i = 4, #ARGV, 2 do
  local h = redis.call('HMGET', prefix .. 'job:' .. ARGV[i + 1], 's', 'w')
  if h[1] == 'r' and h[2] == me then
    redis.call('XCLAIM', stream, group, me, 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
"#,
    )
});

/// Stores outcomes, notifies the waiting clients and acknowledges, for a batch. KEYS:
/// stream. ARGV: prefix, group, worker, ttl ms, then (entry id, job id, state, outcome)
/// per job. The first outcome stored for a job wins; a later one (the job ran twice) is
/// only acknowledged.
pub(crate) static FINISH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, ttl = ARGV[1], ARGV[2], ARGV[4]
local stored = 0
for i = 5, #ARGV, 4 do
  local eid, id, state, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jk = prefix .. 'job:' .. id
  local s = redis.call('HGET', jk, 's')
  if s == 'q' or s == 'r' then
    redis.call('HSET', jk, 's', state, 'res', outcome)
    redis.call('HDEL', jk, 'w')
    notify(jk, id, outcome, ttl)
    redis.call('PEXPIRE', jk, ttl)
    stored = stored + 1
  end
  redis.call('XACK', stream, group, eid)
  redis.call('XDEL', stream, eid)
end
return stored
"#,
    )
});

/// Hands this worker's entries back to the queue, immediately claimable by any worker
/// (the next claim counts a delivery). Used for the jobs still running at a graceful
/// shutdown, and for jobs this worker cannot run (its reason is kept: it becomes the
/// dead-letter reason if no worker ever runs the job). KEYS: stream. ARGV: prefix, group,
/// worker, reason ('' for none), then (entry id, job id) pairs. Returns how many.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, me, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = 0
for i = 5, #ARGV, 2 do
  local jk = prefix .. 'job:' .. ARGV[i + 1]
  local h = redis.call('HMGET', jk, 's', 'w')
  if h[1] == 'r' and h[2] == me then
    redis.call('HSET', jk, 's', 'q')
    redis.call('HDEL', jk, 'w')
    if reason ~= '' then redis.call('HSET', jk, 'why', reason) end
    redis.call('XCLAIM', stream, group, me, 0, ARGV[i], 'IDLE', 31536000000, 'JUSTID')
    n = n + 1
  end
end
return n
"#,
    )
});
