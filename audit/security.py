"""Security events: refusals anyone can provoke (a failed sign-in, a token of another tenant, a
permission denial, a forged webhook, a refused SSO answer), kept in the trail without letting a
flood grow it.

`security_event_record(kind=..., source=..., details=...)` writes to the active schema's trail,
so a denial lands in the trail of the tenant (or platform) where it happened. Per (schema, kind,
object type, source, minute) the first AUDIT_SECURITY_BURST events are written one by one, as they
happen, each with `count: 1`; later ones only increment a Redis hash, and `security_events_flush`
(Celery beat, every minute) writes one entry per source with the rest (`count: n`) once the
minute has closed. Distinct sources per (schema, kind, minute) are capped at
AUDIT_SECURITY_SOURCES_PER_MINUTE; further sources share the source "*". So a minute adds at most
(sources + 1) x (burst + 1) entries per kind to a schema's trail, and the sum of `count` over a
kind's entries is the number of events: nothing is dropped silently.

One Redis round trip per event (a Lua script). Redis down: each event is written on its own (no
aggregation, `aggregated: false`), since losing evidence is worse than a longer trail while the
operator restores Redis; for five seconds after a failure Redis is not even tried.
"""

import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django_redis import get_redis_connection
from django_tenants.utils import schema_context, schema_exists
from redis.commands.core import Script

from saas.typing import connection

from .context import current_stamp
from .events import AuditEvent
from .services import audit_record

logger = logging.getLogger(__name__)

OVERFLOW_SOURCE = "*"
_PENDING = "pending"
_FLUSH_LOCK = "flush-lock"

# KEYS: the minute's hash (source -> count), the pending set. ARGV: source, cap, ttl, minute.
# Returns the source counted (maybe "*") and its count this minute.
_COUNT_LUA = """
local src = ARGV[1]
if redis.call('HEXISTS', KEYS[1], src) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  src = ARGV[5]
end
local n = redis.call('HINCRBY', KEYS[1], src, 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], 'NX', ARGV[4], KEYS[1])
return {src, n}
"""
_script: Script | None = None
# As the rate limiter: after a failure, leave Redis alone a while (no connect timeout per event),
# and warn at most every ten seconds.
_WARN_EVERY_SECONDS = 10.0
_RETRY_REDIS_AFTER_SECONDS = 5.0
_last_warning = 0.0
_skip_until = 0.0


def _key(name: str) -> str:
    return f"{settings.AUDIT_SECURITY_KEY_PREFIX}{name}"


def _minute() -> int:
    """The current minute (epoch minutes), the unit of aggregation."""
    return int(time.time() // 60)


def _minute_iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, tz=UTC).isoformat()


def _redis_failed(exc: Exception) -> None:
    global _last_warning, _skip_until
    now = time.monotonic()
    _skip_until = now + _RETRY_REDIS_AFTER_SECONDS
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning(
            "security events not aggregated: Redis unavailable", extra={"error": type(exc).__name__}
        )


def _count(*, schema: str, kind: str, object_type: str, source: str, minute: int) -> tuple[str, int] | None:
    """Counts one event; (source counted, its count this minute), or None when Redis is unreachable."""
    global _script
    if time.monotonic() < _skip_until:
        return None
    try:
        client = get_redis_connection("default")
        if _script is None:
            _script = client.register_script(_COUNT_LUA)
        counted, n = _script(
            keys=[_key(f"{schema}|{kind}|{object_type}|{minute}"), _key(_PENDING)],
            args=[
                source,
                settings.AUDIT_SECURITY_SOURCES_PER_MINUTE,
                settings.AUDIT_SECURITY_KEEP_SECONDS,
                minute,
                OVERFLOW_SOURCE,
            ],
            client=client,
        )
    except Exception as exc:  # Redis down: the caller writes the event on its own
        _redis_failed(exc)
        return None
    return (counted.decode() if isinstance(counted, bytes) else str(counted)), int(n)


def security_event_record(
    *,
    kind: AuditEvent,
    source: str | None = None,
    object_type: str = "security_event",
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> None:
    """Records a refusal (`kind`, e.g. "login_failed") in the active schema's trail, bounded per minute.

    `source` is who caused it (a client IP by default, or an actor label); the first few events of
    a (kind, source) in a minute are written now, the rest are counted and written by the flush.
    Call it outside a transaction that the refusal rolls back, or the entry goes with it.
    """
    stamp = current_stamp()
    source = (source or stamp.remote_addr or "unknown")[:200]
    minute = _minute()
    counted = _count(
        schema=connection.schema_name, kind=kind, object_type=object_type, source=source, minute=minute
    )
    if counted is not None and counted[1] > settings.AUDIT_SECURITY_BURST:
        return  # counted; `security_events_flush` writes it with the others of this minute
    audit_record(
        event=kind,
        target=(object_type, object_id),
        details={
            **(details or {}),
            "source": counted[0] if counted else source,
            "count": 1,
            "minute": _minute_iso(minute),
            "aggregated": counted is not None,
        },
        actor=actor,
    )


def security_events_flush(*, now: float | None = None) -> int:
    """Writes the counted-only events of every closed minute, one entry per source; returns how many.

    A minute is flushed once it has been over for a full minute (late writers on a clock a little
    behind are done by then). Runs under a Redis lock, so two beats never write a count twice.
    """
    client = get_redis_connection("default")
    if not client.set(_key(_FLUSH_LOCK), "1", nx=True, ex=300):
        return 0
    written = 0
    try:
        closed = int((time.time() if now is None else now) // 60) - 2
        for raw in client.zrangebyscore(_key(_PENDING), "-inf", closed):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            written += _flush_minute(client, key)
            client.delete(key)
            client.zrem(_key(_PENDING), key)
    finally:
        client.delete(_key(_FLUSH_LOCK))
    return written


def _flush_minute(client: Any, key: str) -> int:
    schema, kind, object_type, minute = key.removeprefix(_key("")).split("|")
    burst = settings.AUDIT_SECURITY_BURST
    rest = {
        (s.decode() if isinstance(s, bytes) else s): int(n) - burst
        for s, n in client.hgetall(key).items()
        if int(n) > burst
    }
    if not rest:
        return 0
    if not schema_exists(schema):  # the tenant was purged meanwhile: its trail is gone with it
        logger.warning(
            "security events of a schema that no longer exists",
            extra={"schema": schema, "kind": kind, "count": sum(rest.values())},
        )
        return 0
    with schema_context(schema), transaction.atomic():
        for source, count in sorted(rest.items()):
            audit_record(
                event=AuditEvent(kind),
                target=(object_type, None),
                details={
                    "source": source,
                    "count": count,
                    "minute": _minute_iso(int(minute)),
                    "aggregated": True,
                },
                actor="system:security-events",
            )
    return len(rest)
