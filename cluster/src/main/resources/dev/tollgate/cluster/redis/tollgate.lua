#!lua name=tollgate
--[[
Tollgate's global windows (SPEC §9): the server side of dev.tollgate.cluster.redis.GlobalWindows.
Loaded by every gateway at start on every master, and again when a call meets "Function not
found" (a new master after a failover, a FUNCTION FLUSH); a gateway replaces it only when the
tollgate_version() of its own copy is newer than the loaded one's, so a rolling upgrade never
downgrades it.

Keys. One entity's state lives under one hash tag, so on one slot and one master, and every
function call touches one entity atomically:
  tg:{<entity>}:w  the window: one field per bucket, named by its index (start millis / bucket
                   millis), valued "node=posts,requests;node=posts,requests" (each gateway's
                   absolute counts), plus t (the window's end bucket), w and r (the posts and
                   requests of the buckets (t - n, t], kept incrementally), x (the newest
                   bucket the key's TTL was set for).
  tg:{<entity>}:i  the incidents: open (the open sequence), last (the last sequence), fb and fc
                   (the open flag's bucket and count), cs and ce (the last closed period's
                   buckets [cs, ce)). Exists only for an entity that was ever flagged.
One tollgate_ship call carries the entities a gateway has on one slot (each with its own two
keys), so a call's fixed cost is paid once for all of them.

Absolute values with max-merge. A gateway ships, per bucket, its own absolute counts (what its
meter holds, not a delta), and the function keeps per (gateway, bucket) the maximum of what it
was sent. A gateway's count of a bucket only grows, so the maximum is its latest value: a
shipment applied twice, late, or after a newer one changes nothing (max is idempotent,
commutative and associative), so retries and replays after a failover are always safe. Every
stored value is a value some gateway really counted, so no sum is ever above the truth; it is
below it only by what was not shipped yet. The window's end t is the newest bucket any shipper's
clock has reached: a clock ahead of the others only drops old buckets sooner (an undercount,
never an overcount). The cost is space and bytes: a gateway's entry per
bucket (about 10-20 bytes in the field), and every shipment carries the whole current value of
each changed bucket rather than a small delta (a changed entity sends usually one bucket, the
current one). Deltas with sequence numbers would need per-gateway sequence state, dup/gap
answers and a resend protocol; absolute values need none.

Exactly-once crossing. The crossing is decided inside tollgate_ship, atomically on the entity's
master: if no incident is open and the window's posts minus those still in the window that
belong to the last closed (final) period exceed the threshold, the call records an open
incident (last + 1) and answers its sequence to this caller only; every later caller sees it
open and gets 0. A lost master may lose a decision made just before it died; the next shipment
then decides again with the same sequence, and the PostgreSQL ledger's one-open-incident rule
makes a second flag harmless (SPEC §9).

Expiry. A bucket matters while it can be in a window or in the evidence of a flag raised in it:
until its end + window + 24 h (the finalization). A shipment with a bucket newer than any before
(x) extends the window key's TTL to that horizon of it, relative to the shipper's clock (never
shortens it: older buckets leave it alone), so an entity that stops getting traffic vanishes
once nothing can need it. The incident key holds a few numbers and never expires: the sequence
of the next flag must follow the last one.

Pacing (tollgate_ship_paced, issue 12 item 9). Shipping every changed entity every second costs
one call per active entity per gateway per second; most entities (light IP ranges, ordinary
keys) are nowhere near the threshold. So the window hands each shipping gateway an allowance,
field g of the window key: "node=allowance,expiry;..." (posts; the expiry in the shipper's
clock). A gateway may hold back up to its allowance of new posts of the entity until the
allowance expires (the grant lifetime, seconds to a minute); past it, or once the entity is hot,
it ships at once. The allowances are cut from the room below the hot level H (80 % of the
threshold) that no one holds yet:
    free = H - w - (the unexpired allowances of the other gateways)
    allowance = floor(free / (holders + 2)) if the entity is not hot and free > 0, else 0
(holders: the other gateways holding an allowance above 0; "+ 2": this gateway, and a share kept
for a gateway that has none yet). Invariant: w plus every unexpired allowance stays <= H, so
while every gateway keeps to its allowance the true count is <= H + what was counted in the last
flush interval by gateways that hold none (they ship on the ordinary cadence). When a shipment
finds free < 0 (the true count may be above H: someone went past its allowance, or the entity
just became hot) and others still hold allowances, the call PUBLISHes the window key on channel
tollgate:recall (again, at most once a second, when a later shipment finds the room still gone):
every gateway ships that entity at once, and gets no allowance while the room stays gone. The
call that decides a crossing publishes a recall too, whoever holds what: every gateway that
counted the entity ships it and so learns of the flag from the answer. So every gateway ships
an entity every tick from the moment its true count passes the hot level, give or take a flush
interval, and the crossing is seen within the flush interval, a tick and the round trips
(argued in Pacer and WindowShipper, measured in benchmarks/). A lost recall (the subscriber's
node failed over) costs at most the grant lifetime and GRANT_MARGIN. Redis keeps an allowance
GRANT_MARGIN past the lifetime, counted from the caller's "now" at the start of its round; the
gateway ships an expired entity at the latest 3 s past it: that covers its tick, the round
trip, and clocks apart by up to a couple of seconds.
--]]

local GRANT_MARGIN = 5000
local RECALL_EVERY = 1000

local function num(v, what)
  local x = tonumber(v)
  if x == nil then
    error('tollgate: ' .. what .. ': ' .. tostring(v) .. ' (expected: a number)')
  end
  return x
end

local function int(x)
  return string.format('%d', x)
end

-- The posts and requests of one bucket over every gateway, and its gateways.
local function total(v)
  local p, r = 0, 0
  if v then
    for _, op, orq in string.gmatch(v, '([^=;]+)=(%d+),(%d+)') do
      p = p + tonumber(op)
      r = r + tonumber(orq)
    end
  end
  return p, r
end

-- Max-merges (node, p, r) into a bucket's value; returns the new value (nil: unchanged), the
-- growth of its posts and requests, and what it held of this node before (0, 0: nothing).
local function merge(v, node, p, r)
  if not v then
    return node .. '=' .. int(p) .. ',' .. int(r), p, r, 0, 0
  end
  local out, found, dp, dr, was, wasr = {}, false, 0, 0, 0, 0
  for n, op, orq in string.gmatch(v, '([^=;]+)=(%d+),(%d+)') do
    if n == node then
      found = true
      op, orq = tonumber(op), tonumber(orq)
      was, wasr = op, orq
      local np, nr = math.max(op, p), math.max(orq, r)
      dp, dr = np - op, nr - orq
      out[#out + 1] = n .. '=' .. int(np) .. ',' .. int(nr)
    else
      out[#out + 1] = n .. '=' .. op .. ',' .. orq
    end
  end
  if not found then
    out[#out + 1] = node .. '=' .. int(p) .. ',' .. int(r)
    dp, dr = p, r
  end
  if dp == 0 and dr == 0 then
    return nil, 0, 0, was, wasr
  end
  return table.concat(out, ';'), dp, dr, was, wasr
end

-- The allowance of the shipping gateway (see "Pacing" above): records it with its expiry, drops
-- expired ones, and recalls the other holders when the room below the hot level is gone.
local function allowance(kw, node, now, w, open, flagged, lifetime, hot)
  local g = redis.call('HMGET', kw, 'g', 'rc')
  local kept, others, holders = {}, 0, 0
  if g[1] then
    for nd, amount, expiry in string.gmatch(g[1], '([^=;]+)=(%d+),(%d+)') do
      if nd ~= node and tonumber(expiry) > now then
        kept[#kept + 1] = nd .. '=' .. amount .. ',' .. expiry
        others = others + tonumber(amount)
        if tonumber(amount) > 0 then
          holders = holders + 1
        end
      end
    end
  end
  local free = hot - w - others
  local mine = 0
  if open == 0 and free > 0 then
    mine = math.floor(free / (holders + 2))
  end
  kept[#kept + 1] = node .. '=' .. int(mine) .. ',' .. int(now + lifetime + GRANT_MARGIN)
  redis.call('HSET', kw, 'g', table.concat(kept, ';'))
  if (flagged ~= 0 or ((free < 0 or open ~= 0) and holders > 0))
      and (flagged ~= 0 or tonumber(g[2]) == nil or now - tonumber(g[2]) >= RECALL_EVERY) then
    redis.call('HSET', kw, 'rc', int(now))
    redis.call('PUBLISH', 'tollgate:recall', kw)
  end
  return mine
end

-- Applies one entity's buckets (args[first .. first + 3 * count - 1]: bucket, posts, requests...);
-- returns {posts, requests, flagged sequence or 0, open sequence or 0, flag bucket or -1, flag count,
-- flag time or -1}. The flag time is the deciding shipment's "now": every gateway reports the same one.
local function ship_one(kw, ki, node, cur, n, threshold, bms, now, keep, args, first, count, lifetime, hot)
  local last = first + 3 * count - 1
  local newest = -1
  for i = first, last, 3 do
    newest = math.max(newest, num(args[i], 'bucket'))
  end
  cur = math.max(cur, newest)

  -- Slide the window's end to max(t, cur): buckets leaving it leave the sums.
  local state = redis.call('HMGET', kw, 't', 'w', 'r', 'x')
  local t, w, wr, x = tonumber(state[1]), tonumber(state[2]) or 0, tonumber(state[3]) or 0, tonumber(state[4])
  if t == nil or cur - t >= n then
    t, w, wr = cur, 0, 0
  elseif cur > t then
    for x = t - n + 1, cur - n do
      local p, r = total(redis.call('HGET', kw, int(x)))
      w, wr = w - p, wr - r
    end
    t = cur
  end

  local writes, ahead = {'t', int(t)}, {}
  for i = first, last, 3 do
    local b = num(args[i], 'bucket')
    local field = int(b)
    local p, r = num(args[i + 1], 'posts'), num(args[i + 2], 'requests')
    local v, dp, dr, was, wasr = merge(redis.call('HGET', kw, field), node, p, r)
    if was > p or wasr > r then
      ahead[#ahead + 1] = b
      ahead[#ahead + 1] = math.max(was, p)
      ahead[#ahead + 1] = math.max(wasr, r)
    end
    if v then
      writes[#writes + 1] = field
      writes[#writes + 1] = v
      if b > t - n then
        w, wr = w + dp, wr + dr
      end
    end
  end
  writes[#writes + 1] = 'w'
  writes[#writes + 1] = int(w)
  writes[#writes + 1] = 'r'
  writes[#writes + 1] = int(wr)
  -- x: the newest bucket the key's TTL covers; the TTL only grows, and only with x.
  if x == nil or newest > x then
    writes[#writes + 1] = 'x'
    writes[#writes + 1] = int(newest)
  end
  redis.call('HSET', kw, unpack(writes))
  if x == nil or newest > x then
    redis.call('PEXPIRE', kw, int(math.max((newest + 1) * bms + keep - now, 1000)))
  end

  local inc = redis.call('HMGET', ki, 'open', 'last', 'cs', 'ce', 'fb', 'fc', 'fa')
  local open = tonumber(inc[1]) or 0
  local flagged, fb, fc, fa = 0, tonumber(inc[5]) or -1, tonumber(inc[6]) or 0, tonumber(inc[7]) or -1
  if open == 0 and w > threshold then
    local count = w
    local cs, ce = tonumber(inc[3]), tonumber(inc[4])
    if cs and ce then
      for x = math.max(cs, t - n + 1), math.min(ce - 1, t) do
        local p = total(redis.call('HGET', kw, int(x)))
        count = count - p
      end
    end
    if count > threshold then
      flagged = (tonumber(inc[2]) or 0) + 1
      open, fb, fc, fa = flagged, t, count, math.max(t * bms, math.min(now, (t + 1) * bms - 1))
      redis.call('HSET', ki, 'open', int(open), 'last', int(open), 'fb', int(fb), 'fc', int(fc), 'fa', int(fa))
    end
  end
  if open == 0 then
    fa = -1
  end
  if lifetime == nil then
    return {w, wr, flagged, open, fb, fc, fa}
  end
  return {w, wr, flagged, open, fb, fc, fa, allowance(kw, node, now, w, open, flagged, lifetime, hot), ahead}
end

-- Ships the buckets of one or more entities of one slot (one call amortizes the call's fixed
-- cost over the entities a gateway has on that slot).
-- KEYS: window, incidents of each entity. ARGV: node, current bucket, buckets per window,
-- threshold, bucket millis, now millis, keep millis (window + finalization), then per entity
-- (in KEYS order) its number of buckets k and k times bucket, posts, requests.
-- Returns one {posts, requests, flagged, open, flag bucket, flag count} per entity.
local function ship_with(keys, args, paced)
  local node = args[1]
  local cur = num(args[2], 'current bucket')
  local n = num(args[3], 'buckets per window')
  local threshold = num(args[4], 'threshold')
  local bms = num(args[5], 'bucket millis')
  local now = num(args[6], 'now millis')
  local keep = num(args[7], 'keep millis')
  if #keys == 0 or #keys % 2 ~= 0 then
    error('tollgate: ship: ' .. #keys .. ' keys (expected: a window and an incidents key per entity)')
  end
  local out, i, lifetime, hot = {}, 8, nil, nil
  if paced then
    lifetime, hot, i = num(args[8], 'grant lifetime millis'), num(args[9], 'hot level'), 10
  end
  for e = 1, #keys, 2 do
    local count = num(args[i], 'bucket count')
    if count < 1 or i + 3 * count > #args then
      error('tollgate: ship: bucket count ' .. tostring(args[i]) .. ' (expected: 1 to ' .. math.floor((#args - i) / 3) .. ')')
    end
    out[#out + 1] = ship_one(keys[e], keys[e + 1], node, cur, n, threshold, bms, now, keep, args, i + 1, count, lifetime, hot)
    i = i + 1 + 3 * count
  end
  if i ~= #args + 1 then
    error('tollgate: ship: ' .. (#args + 1 - i) .. ' arguments left over (expected: none)')
  end
  return out
end

local function ship(keys, args)
  return ship_with(keys, args, false)
end

-- As tollgate_ship, with two more arguments after keep millis: the grant lifetime (millis) and the
-- hot level (posts); each entity's answer has an eighth element, this gateway's allowance, and a
-- ninth, {bucket, posts, requests...} of every shipped bucket where Redis held more of this
-- gateway than it shipped (it lost counts Redis had: a journal's last second after kill -9, an
-- entity evicted and counted anew), for the gateway to adopt.
local function ship_paced(keys, args)
  return ship_with(keys, args, true)
end

-- KEYS: incidents. ARGV: sequence, flag bucket, flag count. Adopts an incident raised elsewhere
-- (a gateway's certain local flag while Redis was away) if none is open and it is newer than the
-- last. Returns the open sequence afterwards (0: none).
local function open_incident(keys, args)
  local ki = keys[1]
  local seq = num(args[1], 'sequence')
  local inc = redis.call('HMGET', ki, 'open', 'last')
  local open, last = tonumber(inc[1]) or 0, tonumber(inc[2]) or 0
  if open == 0 and seq > last then
    local fb = num(args[2], 'flag bucket')
    redis.call('HSET', ki, 'open', int(seq), 'last', int(seq), 'fb', int(fb),
        'fc', int(num(args[3], 'flag count')), 'fa', int(tonumber(args[4]) or -1))
    return seq
  end
  return open
end

-- KEYS: incidents. ARGV: sequence, first bucket, end bucket (exclusive) of its final period.
-- The period's posts never count toward another flag. Returns the open sequence afterwards.
local function close_incident(keys, args)
  local ki = keys[1]
  local seq = num(args[1], 'sequence')
  local cs, ce = num(args[2], 'start bucket'), num(args[3], 'end bucket')
  local inc = redis.call('HMGET', ki, 'open', 'last', 'ce')
  local open, last, oldCe = tonumber(inc[1]) or 0, tonumber(inc[2]) or 0, tonumber(inc[3])
  if open ~= 0 and open <= seq then
    redis.call('HDEL', ki, 'open', 'fb', 'fc')
    open = 0
  end
  redis.call('HSET', ki, 'last', int(math.max(last, seq)))
  if oldCe == nil or ce > oldCe then
    redis.call('HSET', ki, 'cs', int(cs), 'ce', int(ce))
  end
  return open
end

-- KEYS: window. ARGV: first bucket, end bucket (exclusive). Returns {nodes, bucket, posts,
-- requests, bucket, posts, requests...} for every bucket of the range with traffic.
local function series(keys, args)
  local from, to = num(args[1], 'from bucket'), num(args[2], 'to bucket')
  local all = redis.call('HGETALL', keys[1])
  local out, nodes, seen = { {} }, {}, {}
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b and b >= from and b < to then
      local p, r = 0, 0
      for nd, op, orq in string.gmatch(all[i + 1], '([^=;]+)=(%d+),(%d+)') do
        p, r = p + tonumber(op), r + tonumber(orq)
        if not seen[nd] then
          seen[nd] = true
          nodes[#nodes + 1] = nd
        end
      end
      out[#out + 1] = b
      out[#out + 1] = p
      out[#out + 1] = r
    end
  end
  out[1] = nodes
  return out
end

redis.register_function('tollgate_ship', ship)
redis.register_function('tollgate_ship_paced', ship_paced)
redis.register_function('tollgate_open', open_incident)
redis.register_function('tollgate_close', close_incident)
redis.register_function{function_name = 'tollgate_series', callback = series, flags = {'no-writes'}}
redis.register_function{function_name = 'tollgate_version', callback = function() return 3 end, flags = {'no-writes'}}
