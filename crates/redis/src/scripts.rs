//! The Lua scripts that make each state change of a job atomic in Redis.
//!
//! A job lives in two places: an entry of the queue's stream (read by workers through the
//! consumer group; field `job` is `<id>\n<name>\n<payload>`, one field so a read returns
//! few values per entry, and `span` when tracing is on) and two string keys holding its
//! state:
//! - `job:<id>`, `q <entry id> <client> [<client> ...]` while it waits or runs: the stream
//!   entry, and the clients waiting for its outcome (each has a reply list
//!   `reply:<client>`);
//! - `out:<id>`, once it has an outcome: `d<outcome>` done, `c<outcome>` cancelled,
//!   `x<outcome>` dead-lettered, with the encoded outcome, kept for the result TTL. It is
//!   written once (`SET … NX`), so the first outcome stored wins; `job:<id>` is deleted
//!   after it. A job whose `out:<id>` exists is finished, whatever `job:<id>` still says.
//!
//! Whether a queued job is claimed is the consumer group's own record: a job is claimed
//! once a worker has read its entry (the entry is in the group's pending entries list,
//! owned by that worker), so reading a batch needs no further command. An entry handed
//! back to the queue (graceful shutdown, or a job this worker cannot run) is marked by an
//! idle time of a year, so any worker's next reclaim takes it and a cancel treats it as
//! not claimed; the reason it was handed back is kept in `why:<id>` for the dead-letter
//! record.
//!
//! The queue's length (jobs waiting or running) is the counter `len`: added to by each
//! submit, taken from as entries are acknowledged, and set from the consumer group's own
//! figures (pending + lag) whenever Redis can tell them. Acknowledged entries leave the
//! stream by trimming its head (`XTRIM MINID`, up to the oldest entry still pending or
//! not yet read), which costs a few commands per batch instead of a deletion per entry.
//!
//! Every transition but a worker's finish is one script, so a cancel and a worker claiming
//! the job cannot both win. A finish needs no script: the worker owns the claimed entry, so
//! no cancel can conclude the job meanwhile, and the outcome key's `NX` settles a race
//! between two workers running the same job (after a reclaim). The worker sends, per job,
//! `SET out:<id> <outcome> NX GET PX <ttl>` and then `GET job:<id>` (one pipeline for the
//! batch): a client attaching after the `SET` sees the outcome, one attaching before it is
//! in the waiting clients the `GET` returns, and the clients are told the outcome that won
//! (the `SET`'s reply, when another worker's was first). Then one script per batch
//! ([`ACK`]) pushes one message per client, deletes the queued states, acknowledges and
//! trims. Retrying either step after a lost reply is harmless.
//!
//! Per job the hot path costs three commands executed by Redis: `XADD` at submit (in the
//! submit script, with the batch's queued states in one `MSET`: adding, counting and
//! recording a job must happen at once, so that a job counted as queued can be cancelled),
//! and the plain `SET` and `GET` at finish; per batch one `XACK`, one `DEL`, one trim and
//! per client one `RPUSH` and one `PEXPIRE`. Scripts cost Redis several microseconds per
//! command they call on top of the command itself, which is why the per-job commands of
//! the finish, which needs no script, are sent plain.
//!
//! Keys are built inside the scripts from the queue's prefix, which carries the queue's
//! hash tag: every key a script touches is in the slot of its declared keys.

use std::sync::LazyLock;

use redis::Script;

/// Functions shared by the scripts.
const COMMON: &str = r#"
local Q = 113 -- string.byte('q')
local RELEASED = 31536000000
-- Adds a client to a queued job's waiters (v is the job's current `q ...` value).
local function subscribe(jk, v, client)
  if not string.find(v .. ' ', ' ' .. client .. ' ', 3, true) then
    redis.call('SET', jk, v .. ' ' .. client)
  end
end
-- Queues the line `r <id> <outcome>` for every client waiting for the job (outcomes are
-- JSON: one line each).
local function queue_push(pushes, v, id, outcome)
  local clients = string.match(v, '^q %S+ (.*)$')
  if clients then
    local msg = 'r ' .. id .. ' ' .. outcome
    for c in string.gmatch(clients, '%S+') do
      local t = pushes[c]
      if not t then t = {}; pushes[c] = t end
      t[#t + 1] = msg
    end
  end
end
-- Per client: one RPUSH of one message holding all its lines, and one PEXPIRE.
local function flush(prefix, pushes, ttl)
  for c, lines in pairs(pushes) do
    local key = prefix .. 'reply:' .. c
    redis.call('RPUSH', key, table.concat(lines, '\n'))
    redis.call('PEXPIRE', key, ttl)
  end
end
-- The job's state: its outcome (`d…`, `c…`, `x…`) once it has one, else its queued value
-- (`q …`), else false (unknown, or its outcome expired).
local function state(prefix, id)
  local o = redis.call('GET', prefix .. 'out:' .. id)
  if o then return o end
  return redis.call('GET', prefix .. 'job:' .. id)
end
-- Concludes a queued job (queued value v) with `o`, its state letter and encoded outcome:
-- stores the outcome, drops the queued state and tells the waiting clients.
local function conclude(prefix, id, v, o, ttl)
  local pushes = {}
  queue_push(pushes, v, id, string.sub(o, 2))
  redis.call('SET', prefix .. 'out:' .. id, o, 'PX', ttl)
  redis.call('DEL', prefix .. 'job:' .. id)
  flush(prefix, pushes, ttl)
end
local function fields(flat)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  return f
end
-- The fields of a stream entry: `job` is `<id>\n<name>\n<payload>`; `span` is optional.
local function entry_fields(flat)
  local f = fields(flat)
  if f.job then
    f.id, f.name, f.payload = string.match(f.job, '^([^\n]*)\n([^\n]*)\n(.*)$')
  end
  if f.id == '' then f.id = nil end
  return f
end
-- Is entry `eid` in the pending entries list of `consumer` (any consumer when nil)?
-- Returns its pending record, or nil (also when no worker has created the group yet).
local function pending(stream, group, eid, consumer)
  local p
  if consumer then
    p = redis.pcall('XPENDING', stream, group, eid, eid, 1, consumer)
  else
    p = redis.pcall('XPENDING', stream, group, eid, eid, 1)
  end
  if type(p) ~= 'table' or p.err then return nil end
  return p[1]
end
-- After acknowledgements: trims the stream's head up to the oldest entry still pending
-- or not yet read, and resets the length counter from the group's figures when Redis
-- can tell them (no deleted entry among the unread ones).
local function trim(stream, group, prefix)
  local info
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local f = fields(g)
    if f.name == group then info = f end
  end
  if not info then return end
  local head = redis.call('XPENDING', stream, group, '-', '+', 1)[1]
  local minid
  if head then
    minid = head[1]
  else
    local ms, seq = string.match(info['last-delivered-id'], '^(%d+)-(%d+)$')
    if not ms then return end
    minid = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
  end
  redis.call('XTRIM', stream, 'MINID', '~', minid)
  if info.lag then
    redis.call('SET', prefix .. 'len', tonumber(info.pending) + tonumber(info.lag))
  end
end
local function dead_letter(stream, dead, group, prefix, eid, f, deliveries, reason, ttl)
  local id = f.id or ''
  if id ~= '' then
    reason = redis.call('GET', prefix .. 'why:' .. id) or reason
  end
  redis.call('XADD', dead, '*', 'id', id, 'name', f.name or '', 'payload', f.payload or '',
    'reason', reason, 'deliveries', tostring(deliveries), 'entry', eid)
  local counted = false
  if id ~= '' then
    local v = state(prefix, id)
    if v and string.byte(v, 1) == Q then
      local res = cjson.encode({t = 'dead', v = {reason = reason, deliveries = tonumber(deliveries)}})
      conclude(prefix, id, v, 'x' .. res, ttl)
      counted = true
    end
  end
  local acked = redis.call('XACK', stream, group, eid)
  redis.call('XDEL', stream, eid)
  if counted and acked > 0 then redis.call('DECR', prefix .. 'len') end
end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Enqueues a batch of jobs. KEYS: stream. ARGV: prefix, max length (0: none), client,
/// then (id, keyed `1`/`0`, name, payload, span) per job. Only a keyed job (an
/// idempotency key; random ids are never reused) is looked up first; the new jobs'
/// states are written by one `MSET`. Returns the statuses as one string, one letter per
/// job (`+` queued, `F` queue full, `D` the id exists and is pending: subscribed to it,
/// `R` the id exists and finished), then the queue length (jobs waiting or running), then
/// the outcome of each `R` job in order.
pub(crate) static SUBMIT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, maxlen, client = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local len = tonumber(redis.call('GET', prefix .. 'len') or '0')
local added = 0
local status, finished, states, fresh = {}, {}, {}, {}
for i = 4, #ARGV, 5 do
  local id = ARGV[i]
  local jk = prefix .. 'job:' .. id
  local v = false
  if ARGV[i + 1] == '1' then
    -- The same key earlier in this batch is pending already, for this client.
    v = fresh[jk] or state(prefix, id)
  end
  if v == 'q' then
    status[#status + 1] = 'D'
  elseif v then
    if string.byte(v, 1) == Q then
      subscribe(jk, v, client)
      status[#status + 1] = 'D'
    else
      status[#status + 1] = 'R'
      finished[#finished + 1] = string.sub(v, 2)
    end
  elseif maxlen > 0 and len >= maxlen then
    status[#status + 1] = 'F'
  else
    local eid
    local job = id .. '\n' .. ARGV[i + 2] .. '\n' .. ARGV[i + 3]
    if ARGV[i + 4] == '' then
      eid = redis.call('XADD', stream, '*', 'job', job)
    else
      eid = redis.call('XADD', stream, '*', 'job', job, 'span', ARGV[i + 4])
    end
    states[#states + 1] = jk
    states[#states + 1] = 'q ' .. eid .. ' ' .. client
    if ARGV[i + 1] == '1' then fresh[jk] = 'q' end
    len = len + 1
    added = added + 1
    status[#status + 1] = '+'
  end
end
for i = 1, #states, 1000 do
  redis.call('MSET', unpack(states, i, math.min(i + 999, #states)))
end
if added > 0 then redis.call('INCRBY', prefix .. 'len', added) end
local out = {table.concat(status), tostring(len)}
for _, r in ipairs(finished) do out[#out + 1] = r end
return out
"#,
    )
});

/// Subscribes to a job. KEYS: job key, outcome key. ARGV: client. Returns `N` (no such
/// job), `P` (pending: its outcome will be pushed to the client's reply list) or
/// `R<outcome>`.
pub(crate) static ATTACH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local jk = KEYS[1]
local v = redis.call('GET', KEYS[2]) or redis.call('GET', jk)
if not v then return 'N' end
if string.byte(v, 1) == Q then
  subscribe(jk, v, ARGV[1])
  return 'P'
end
return 'R' .. string.sub(v, 2)
"#,
    )
});

/// Cancels a job. KEYS: stream, job key, outcome key. ARGV: prefix, group, id, client,
/// ttl ms, the cancelled outcome. Returns `C` (cancelled: no worker had claimed it, it will never
/// run), `F` (claimed: the request was forwarded to its worker, whose answer comes on the
/// client's reply list), `D` (already finished) or `N` (no such job).
pub(crate) static CANCEL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream, jk = KEYS[1], KEYS[2]
local prefix, group, id, client, ttl, cancelled = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local v = redis.call('GET', KEYS[3]) or redis.call('GET', jk)
if not v then return 'N' end
local s = string.byte(v, 1)
if s == Q then
  local eid = string.match(v, '^q (%S+)')
  local p = pending(stream, group, eid)
  if p and tonumber(p[3]) < RELEASED then
    local ctl = prefix .. 'ctl:' .. p[2]
    redis.call('RPUSH', ctl, id .. ' ' .. client)
    redis.call('PEXPIRE', ctl, ttl)
    return 'F'
  end
  conclude(prefix, id, v, 'c' .. cancelled, ttl)
  if p then redis.call('XACK', stream, group, eid) end
  redis.call('XDEL', stream, eid)
  redis.call('DECR', prefix .. 'len')
  return 'C'
elseif s == 99 then -- 'c'
  return 'C'
end
return 'D'
"#,
    )
});

/// Claims entries whose worker stopped acknowledging or heartbeating (or handed them
/// back), dead-lettering those delivered too often. KEYS: stream, dead stream. ARGV:
/// prefix, group, worker, min idle ms, max deliveries, count, ttl ms. Returns the number
/// dead-lettered, the queue length, then (entry id, job id, name, payload, span,
/// deliveries) per claimed entry.
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
    local f = entry_fields(entry[2])
    local v = f.id and state(prefix, f.id)
    if f.id and not (v and string.byte(v, 1) == Q) then
      -- Finished (its worker stored the outcome, then stopped before acknowledging) or
      -- unknown: it leaves the queue here. A worker that stopped after storing the outcome
      -- may not have told the waiting clients: tell them now.
      if v then
        local jk = prefix .. 'job:' .. f.id
        local queued = redis.call('GET', jk)
        if queued and string.byte(queued, 1) == Q then
          local pushes = {}
          queue_push(pushes, queued, f.id, string.sub(v, 2))
          redis.call('DEL', jk)
          flush(prefix, pushes, ttl)
        end
      end
      if redis.call('XACK', stream, group, eid) > 0 then redis.call('DECR', prefix .. 'len') end
      redis.call('XDEL', stream, eid)
    elseif deliveries >= max or not f.id then
      local reason = 'delivered ' .. deliveries .. ' times without an acknowledgement: the workers running it died, were killed or stopped'
      if not f.id then reason = 'the stream entry has no job id' end
      dead_letter(stream, dead, group, prefix, eid, f, deliveries, reason, ttl)
      deadn = deadn + 1
    else
      local c = redis.call('XCLAIM', stream, group, me, min_idle, eid)
      if #c > 0 then
        for _, x in ipairs({eid, f.id, f.name or '', f.payload or '', f.span or '', tostring(deliveries + 1)}) do
          out[#out + 1] = x
        end
      end
    end
  end
end
table.insert(out, 1, redis.call('GET', prefix .. 'len') or '0')
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
/// without counting a delivery). KEYS: stream. ARGV: group, worker, then entry ids.
/// Entries another worker has taken over meanwhile are left alone. Returns how many were
/// refreshed.
pub(crate) static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local group, me = ARGV[1], ARGV[2]
local mine = {}
for i = 3, #ARGV do
  if pending(stream, group, ARGV[i], me) then mine[#mine + 1] = ARGV[i] end
end
for i = 1, #mine, 1000 do
  local args = {stream, group, me, 0}
  for j = i, math.min(i + 999, #mine) do args[#args + 1] = mine[j] end
  args[#args + 1] = 'JUSTID'
  redis.call('XCLAIM', unpack(args))
end
return #mine
"#,
    )
});

/// Completes a batch of finished jobs whose outcomes are stored (see the module's
/// documentation): pushes one message per client, deletes the queued states, acknowledges
/// the entries and trims the stream. KEYS: stream. ARGV: prefix, group, ttl ms, the number
/// of jobs `n`, then `n` entry ids, then `n` job ids, then (client, message) pairs.
/// Returns how many entries were acknowledged.
pub(crate) static ACK: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, ttl, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local first, last = 5, 4 + n
local acked = 0
for i = first, last, 1000 do
  acked = acked + redis.call('XACK', stream, group, unpack(ARGV, i, math.min(i + 999, last)))
end
local keys = {}
for i = last + 1, last + n do keys[#keys + 1] = prefix .. 'job:' .. ARGV[i] end
for i = 1, #keys, 1000 do
  redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys)))
end
if acked > 0 then redis.call('DECRBY', prefix .. 'len', acked) end
trim(stream, group, prefix)
for i = last + n + 1, #ARGV, 2 do
  local key = prefix .. 'reply:' .. ARGV[i]
  redis.call('RPUSH', key, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return acked
"#,
    )
});

/// Hands this worker's entries back to the queue, immediately claimable by any worker
/// (the next claim counts a delivery). Used for the jobs still running at a graceful
/// shutdown, and for jobs this worker cannot run (its reason is kept: it becomes the
/// dead-letter reason if no worker ever runs the job). KEYS: stream. ARGV: prefix, group,
/// worker, reason ('' for none), ttl ms, then (entry id, job id) pairs. Returns how many.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local stream = KEYS[1]
local prefix, group, me, reason, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = 0
for i = 6, #ARGV, 2 do
  local eid, id = ARGV[i], ARGV[i + 1]
  local v = state(prefix, id)
  if v and string.byte(v, 1) == Q and pending(stream, group, eid, me) then
    if reason ~= '' then redis.call('SET', prefix .. 'why:' .. id, reason, 'PX', ttl) end
    redis.call('XCLAIM', stream, group, me, 0, eid, 'IDLE', RELEASED, 'JUSTID')
    n = n + 1
  end
end
return n
"#,
    )
});
