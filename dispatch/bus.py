"""Redis side of dispatch: the order Stream per unit, wake-up notices, console fan-out, the timer lease.

Orders are durable on a Stream per unit with the consumer group :data:`dispatch.keys.ORDER_GROUP`
(the consumer is the unit id): an entry read but not acknowledged stays in the group's pending
list and is read again with id ``0`` on reconnect. Pub/sub only wakes processes up and feeds
consoles; losing a message there delays nothing durable, because each process also polls.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

from dispatch import keys

# Renew the lease only if we still hold it; take it if it is free.
_LEASE_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
# Move the recorded audit head forward only (several processes append concurrently).
_HEAD_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local seq = tonumber(string.match(cur, '^(%d+):'))
  if seq and seq >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2])
return 1
"""

# The audit head is moved forward in the same round trip as the push or the ack (ARGV 'seq', 'hash';
# an empty seq skips it). Shared by the scripts below.
_HEAD_LUA = """
if ARGV[%(seq)d] ~= '' then
  local cur = redis.call('GET', KEYS[%(key)d])
  local seq = cur and tonumber(string.match(cur, '^(%%d+):'))
  if not seq or seq < tonumber(ARGV[%(seq)d]) then
    redis.call('SET', KEYS[%(key)d], ARGV[%(seq)d] .. ':' .. ARGV[%(seq)d + 1])
  end
end
"""

# One round trip after the order is committed: set the ack deadline, XADD the order to the unit's
# Stream, remember order -> entry, read the entry into the unit's pending list at once (XREADGROUP
# '>' for consumer = unit id, never blocking), and PUBLISH the entry id with the ready-to-send
# WebSocket message, so the process holding the unit's socket sends it without asking Redis again.
# A unit connected nowhere finds the entry in its pending list (read with id 0) when it reconnects.
# The group is created if Redis lost it (XGROUP CREATE fails harmlessly with BUSYGROUP otherwise).
# KEYS: deadlines, stream, entries, unit channel, audit head.
# ARGV: order id, deadline, order JSON, group, consumer, notice head, notice tail, audit seq, hash.
_PUSH_SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[4], '0', 'MKSTREAM')
local entry = redis.call('XADD', KEYS[2], '*', 'order', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], entry)
redis.call('XREADGROUP', 'GROUP', ARGV[4], ARGV[5], 'COUNT', '100', 'STREAMS', KEYS[2], '>')
redis.call('PUBLISH', KEYS[4], ARGV[6] .. entry .. ARGV[7])
""" + _HEAD_LUA % {"seq": 8, "key": 5} + """
return entry
"""
# An order is settled (acknowledged, expired, withdrawn): drop its deadline, XACK its entry, forget
# order -> entry, and move the audit head: one round trip.
# KEYS: stream, entries, deadlines, audit head. ARGV: order id, entry id or '', group, audit seq, hash.
_ACK_SCRIPT = """
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry and ARGV[2] ~= '' then entry = ARGV[2] end
if entry then redis.call('XACK', KEYS[1], ARGV[3], entry) end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
""" + _HEAD_LUA % {"seq": 4, "key": 4} + """
return entry
"""
# Delete a lock only if this holder still has it: one round trip.
_UNLOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RAISE_SCRIPT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', 259200) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Bus:
    """Thin, typed wrapper over the Redis commands dispatch uses; every key comes from ``keys``."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        # EVALSHA (the script body is sent again only if Redis lost it, e.g. after a restart).
        self._push = redis.register_script(_PUSH_SCRIPT)
        self._ack = redis.register_script(_ACK_SCRIPT)
        self._unlock = redis.register_script(_UNLOCK_SCRIPT)
        self._head = redis.register_script(_HEAD_SCRIPT)
        self._lease = redis.register_script(_LEASE_SCRIPT)

    async def ensure_group(self, unit_id: str) -> None:
        """Create the unit's Stream and consumer group if missing (idempotent)."""
        try:
            await self.redis.xgroup_create(keys.order_stream(self.prefix, unit_id), keys.ORDER_GROUP,
                                           id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def push_order(self, unit_id: str, message: dict[str, Any], deadline: float, *,
                         audit_head: tuple[int, str] | None = None) -> str:
        """One round trip: set the ack deadline, append to the unit's Stream, remember the entry id,
        put the entry in the unit's pending list and publish it, ready to send, to every process
        (and record ``audit_head``). Called only after the order is committed in SQL.

        ``message`` is the order as the phone gets it (``{"type": "order", "order": message}``).
        """
        order_json = json.dumps(message, ensure_ascii=False)
        head = json.dumps({"unit_id": unit_id, "kind": "order", "order_id": message["id"]})[:-1] + ', "entry": "'
        tail = '", "text": ' + json.dumps('{"type": "order", "order": ' + order_json + "}", ensure_ascii=False) + "}"
        seq, digest = audit_head if audit_head else ("", "")
        entry = await self._push(
            keys=[keys.ack_deadlines(self.prefix), keys.order_stream(self.prefix, unit_id),
                  keys.order_entries(self.prefix), keys.unit_channel(self.prefix), keys.audit_head(self.prefix)],
            args=[message["id"], deadline, order_json, keys.ORDER_GROUP, unit_id, head, tail, seq, digest])
        return _text(entry)

    async def notify_unit(self, unit_id: str, kind: str, order_id: str, **extra: Any) -> None:
        msg = {"unit_id": unit_id, "kind": kind, "order_id": order_id, **extra}
        await self.redis.publish(keys.unit_channel(self.prefix), json.dumps(msg, ensure_ascii=False))

    async def read_orders(self, unit_id: str, *, pending: bool, count: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """New entries (``pending=False``) or this unit's delivered-but-unacknowledged ones."""
        stream = keys.order_stream(self.prefix, unit_id)
        try:
            reply: Any = await self.redis.xreadgroup(keys.ORDER_GROUP, unit_id, {stream: "0" if pending else ">"},
                                                count=count)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group(unit_id)
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        for _name, entries in reply or []:
            for entry_id, fields in entries:
                if not fields:  # trimmed entry still in the pending list
                    await self.redis.xack(stream, keys.ORDER_GROUP, entry_id)
                    continue
                raw = fields.get(b"order") or fields.get("order")
                out.append((_text(entry_id), json.loads(raw)))
        return out

    async def ack_order(self, unit_id: str, order_id: str, entry_id: str | None = None, *,
                        audit_head: tuple[int, str] | None = None) -> None:
        """Settle an order in Redis (acknowledged, expired or withdrawn): off the unit's pending list,
        no deadline, no order -> entry; and record ``audit_head``. One round trip."""
        seq, digest = audit_head if audit_head else ("", "")
        await self._ack(keys=[keys.order_stream(self.prefix, unit_id), keys.order_entries(self.prefix),
                              keys.ack_deadlines(self.prefix), keys.audit_head(self.prefix)],
                        args=[order_id, entry_id or "", keys.ORDER_GROUP, seq, digest])

    async def order_entries(self, order_ids: list[str]) -> list[str | None]:
        """The Stream entry of each order, None for an order on no Stream (never pushed, or lost)."""
        if not order_ids:
            return []
        raw = await self.redis.hmget(keys.order_entries(self.prefix), order_ids)
        return [None if v is None else _text(v) for v in raw]

    async def clear_deadline(self, order_id: str) -> None:
        await self.redis.zrem(keys.ack_deadlines(self.prefix), order_id)

    async def due_orders(self, now: float, limit: int = 100) -> list[str]:
        ids = await self.redis.zrangebyscore(keys.ack_deadlines(self.prefix), "-inf", now, start=0, num=limit)
        return [_text(i) for i in ids]

    async def hold_lease(self, holder: str, ttl_s: float, key: str | None = None) -> bool:
        """Take or renew a lease (by default the dispatch timers'; other periodic jobs, such as the
        overdue inspection check, pass their own key); True while this process is the one that acts."""
        got = await self._lease(keys=[key or keys.timer_lease(self.prefix)], args=[holder, int(ttl_s * 1000)])
        return bool(got)

    async def release_lease(self, holder: str, key: str | None = None) -> None:
        """Give the lease up at once if this process still holds it (one script: no check-then-delete race)."""
        await self.unlock(key or keys.timer_lease(self.prefix), holder)

    def subscribe_live(self) -> tuple[PubSub, str, str]:
        """A new pub/sub connection and the two channels a process listens to: consoles, units."""
        return (self.redis.pubsub(ignore_subscribe_messages=True), keys.console_channel(self.prefix),
                keys.unit_channel(self.prefix))

    async def publish_console(self, event: dict[str, Any]) -> None:
        await self.redis.publish(keys.console_channel(self.prefix), json.dumps(event, ensure_ascii=False,
                                                                                default=str))

    async def next_incident_number(self, day: str) -> int:
        key = keys.incident_seq(self.prefix, day)
        n = int(await self.redis.incr(key))
        if n == 1:
            await self.redis.expire(key, 3 * 86400)
        return n

    async def raise_incident_number(self, day: str, at_least: int) -> None:
        """Move the day's counter up to ``at_least`` (never down): Redis lost it, SQL remembers."""
        await self.redis.eval(_RAISE_SCRIPT, 1, keys.incident_seq(self.prefix, day), at_least)

    async def lock(self, key: str, holder: str, ttl_ms: int) -> bool:
        return bool(await self.redis.set(key, holder, nx=True, px=ttl_ms))

    async def unlock(self, key: str, holder: str) -> None:
        await self._unlock(keys=[key], args=[holder])

    async def record_audit_head(self, seq: int, digest: str) -> None:
        await self._head(keys=[keys.audit_head(self.prefix)], args=[seq, digest])

    async def audit_head(self) -> tuple[int, str] | None:
        raw = await self.redis.get(keys.audit_head(self.prefix))
        if raw is None:
            return None
        seq, digest = _text(raw).split(":", 1)
        return int(seq), digest
