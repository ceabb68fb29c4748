/* libaq-redis - the Lua scripts that make each queue step atomic at the
 * server, and their loading. MIT licensed.
 *
 * Invariants:
 * - The entries not yet acknowledged number XLEN minus the counter
 *   "<stream>:acked": the acknowledged entries still in the stream. An
 *   ack script adds what it acknowledged to the counter, then trims the
 *   stream's head up to the oldest entry still pending (or, with none
 *   pending, the last delivered) in whole nodes (XTRIM MINID ~), which
 *   removes only acknowledged entries, and takes what it removed off the
 *   counter; both in one script, so the count cannot drift. A move to the
 *   dead-letter stream deletes a pending entry, which XLEN counts and the
 *   counter never did. maxsize and join read that count. (Deleting each
 *   entry as it is acknowledged, XDEL, cost redis-server a third of its
 *   time per item: bench/RESULTS.md.)
 * - A put checks the shutdown key and the length and adds, in one script:
 *   no put can slip in after a shutdown or past maxsize. Puts and acks
 *   come in batches (batch.c), one script call each, one result per
 *   call in the batch.
 * - Scripts are loaded on every new connection before anything else is
 *   sent on it (a restarted server has forgotten them); EVALSHA then
 *   costs one short command per call.
 */
#include "redis/redis.h"

#include <string.h>

/* Moves entry id (its fields, or none if deleted) to the dead-letter
 * stream with a reason, and takes it out of the queue. Lua 5.1 unpacks
 * fewer than 8,000 values into a call, so an entry with more than 3,000
 * fields moves as several dead-letter entries, each with a 'part' field
 * "k/n" and the next 3,000 fields (one XADD of them all failed: the entry
 * stayed pending for ever, and a member holding it could not reopen). */
#define BURY                                                                 \
    "local function bury(s, dead, g, id, fields, reason)\n"                  \
    "  local n, per = fields and #fields or 0, 6000\n"                       \
    "  local parts = math.max(1, math.ceil(n / per))\n"                      \
    "  for p = 1, parts do\n"                                                \
    "    local a = {'reason', reason, 'id', id}\n"                           \
    "    if parts > 1 then a[5] = 'part' a[6] = p .. '/' .. parts end\n"     \
    "    for i = (p - 1) * per + 1, math.min(p * per, n) do\n"               \
    "      a[#a + 1] = fields[i] end\n"                                      \
    "    redis.call('XADD', dead, '*', unpack(a))\n"                         \
    "  end\n"                                                                \
    "  redis.call('XACK', s, g, id)\n"                                       \
    "  redis.call('XDEL', s, id)\n"                                          \
    "end\n"

const char *const aq__rq_script_src[RQ_NSCRIPTS] = {
    /* A batch of puts. KEYS: stream, shutdown key, acked counter. ARGV:
     * maxsize, then the items. One result per item, in order: its new
     * id; -1 after a shutdown; -2 while full. */
    [RQ_PUT] =
        "local out, n = {}, #ARGV - 1\n"
        "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
        "  for i = 1, n do out[i] = -1 end return out end\n"
        "local max, len = tonumber(ARGV[1]), 0\n"
        "if max > 0 then len = redis.call('XLEN', KEYS[1]) -\n"
        "  tonumber(redis.call('GET', KEYS[3]) or '0') end\n"
        "for i = 1, n do\n"
        "  if max > 0 and len >= max then out[i] = -2\n"
        "  else\n"
        "    out[i] = redis.call('XADD', KEYS[1], '*', 'item', ARGV[i + 1])\n"
        "    len = len + 1\n"
        "  end\n"
        "end\n"
        "return out\n",
    /* A batch of acknowledgements. KEYS: stream, acked counter. ARGV:
     * group, then the ids. One result per id: 1 if acknowledged now,
     * else 0. Then the trim (see the invariants). */
    [RQ_ACK] =
        "local out, acked = {}, 0\n"
        "for i = 2, #ARGV do\n"
        "  out[i - 1] = redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])\n"
        "  acked = acked + out[i - 1]\n"
        "end\n"
        "if acked == 0 then return out end\n"
        "redis.call('INCRBY', KEYS[2], acked)\n"
        "local p, upto = redis.call('XPENDING', KEYS[1], ARGV[1])\n"
        "if p[1] > 0 then upto = p[2]\n"
        "else\n"
        "  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
        "    for j = 1, #g, 2 do\n"
        "      if g[j] == 'name' and g[j + 1] ~= ARGV[1] then break end\n"
        "      if g[j] == 'last-delivered-id' then upto = g[j + 1] end\n"
        "    end\n"
        "  end\n"
        "end\n"
        "if upto then\n"
        "  local gone = redis.call('XTRIM', KEYS[1], 'MINID', '~', upto)\n"
        "  if gone > 0 then redis.call('DECRBY', KEYS[2], gone) end\n"
        "end\n"
        "return out\n",
    /* KEYS: stream, shutdown key, acked counter. ARGV: "join" or "size".
     * The count of entries not yet acknowledged; for join, -1 after an
     * immediate shutdown (the key's value "2": a key of another type is
     * a graceful one, and a GET of it would fail the script). */
    [RQ_LEN] =
        "if ARGV[1] == 'join' and redis.call('TYPE', KEYS[2]).ok == 'string'\n"
        "   and redis.call('GET', KEYS[2]) == '2' then return -1 end\n"
        "return redis.call('XLEN', KEYS[1]) -\n"
        "  tonumber(redis.call('GET', KEYS[3]) or '0')\n",
    /* Takes entries for this consumer: its own pending ones (mode 'own',
     * XCLAIM at idle 0), or other members' idle ones (XAUTOCLAIM). Either
     * counts a delivery; one delivered more than max times is buried.
     * KEYS: stream, dead. ARGV: group, consumer, min idle ms, max
     * deliveries, count, mode, cursor: where the last take of this mode
     * stopped ("0-0": from the start). {{buried ids}, {entries as
     * XREADGROUP's}, next cursor ("0-0": the end reached)}: the ids, so
     * that a member taking back its own entries drops those it held and
     * no longer may hand out. XAUTOCLAIM looks at 10 x count pending
     * entries at most: a take that always began at the start never
     * reached idle entries behind that many live ones. */
    [RQ_TAKE] = BURY
        "local s, dead, g, me = KEYS[1], KEYS[2], ARGV[1], ARGV[2]\n"
        "local got, cur = {}, '0-0'\n"
        "if ARGV[6] == 'own' then\n"
        "  local from = ARGV[7] == '0-0' and '-' or '(' .. ARGV[7]\n"
        "  local p = redis.call('XPENDING', s, g, from, '+', ARGV[5], me)\n"
        "  if #p == tonumber(ARGV[5]) then cur = p[#p][1] end\n"
        "  for _, e in ipairs(p) do\n"
        "    local r = redis.call('XCLAIM', s, g, me, 0, e[1])\n"
        "    if r[1] then got[#got + 1] = r[1]\n"
        "    else redis.call('XACK', s, g, e[1]) end\n"
        "  end\n"
        "else\n"
        "  local r = redis.call('XAUTOCLAIM', s, g, me, ARGV[3], ARGV[7],\n"
        "                       'COUNT', ARGV[5])\n"
        "  got, cur = r[2], r[1]\n"
        "end\n"
        "local out, buried = {}, {}\n"
        "for _, e in ipairs(got) do\n"
        "  local id = e[1]\n"
        "  if not e[2] then redis.call('XACK', s, g, id)\n"
        "  else\n"
        "    local n = redis.call('XPENDING', s, g, id, id, 1)[1][4]\n"
        "    if n > tonumber(ARGV[4]) then\n"
        "      bury(s, dead, g, id, e[2], 'deliveries ' .. n)\n"
        "      buried[#buried + 1] = id\n"
        "    else out[#out + 1] = e end\n"
        "  end\n"
        "end\n"
        "return {buried, out, cur}\n",
};

/* Moves entry id to the dead-letter stream, if it is still pending in
 * the group: a read's reply that came late may carry an entry that the
 * take-back after a reconnection has moved already (a second move put a
 * second dead-letter entry, without its fields). KEYS: stream, dead.
 * ARGV: group, id, reason. 1 if moved, else 0. Sent whole (EVAL) by a
 * caller that awaits no reply (get.c's bad item), where a NOSCRIPT would
 * go unseen: not loaded. */
const char aq__rq_bury_src[] =
    BURY
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
    "if #p == 0 then return 0 end\n"
    "local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])[1]\n"
    "bury(KEYS[1], KEYS[2], ARGV[1], ARGV[2], e and e[2], ARGV[3])\n"
    "return 1\n";

/* Creates the group (and the stream) unless it exists; a new group has
 * acknowledged nothing, so its counter starts at 0, whatever a stream
 * deleted by hand left. KEYS: stream, acked counter. ARGV: group. 1 if
 * created, 0 if it existed; a server error as it is. Sent whole (EVAL),
 * once, at open, before the other scripts' SHAs are known: not loaded. */
const char aq__rq_create_src[] =
    "local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0',\n"
    "                      'MKSTREAM')\n"
    "if type(r) == 'table' and r.err then\n"
    "  if string.sub(r.err, 1, 9) == 'BUSYGROUP' then return 0 end\n"
    "  return r\n"
    "end\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n";

static void loaded(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    char *sha = priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_STRING && reply->len == 40)
        memcpy(sha, reply->str, 41);
}

/* Queues a SCRIPT LOAD of every script on q's command connection; the
 * replies fill q->sha before any later reply on it comes. */
void aq__rq_scripts_load(aq_redis_queue *q)
{
    for (int i = 0; i < RQ_NSCRIPTS; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", aq__rq_script_src[i]};
        size_t lens[] = {6, 4, strlen(aq__rq_script_src[i])};
        aq__rq_conn_send(&q->w, loaded, q->sha[i], 3, argv, lens);
    }
}
