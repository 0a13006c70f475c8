"""A circuit breaker per (tenant schema, service) whose state every web and worker process shares.

Why not pybreaker's `CircuitRedisStorage`: it shares the state and the failure counter, but the
open -> half-open move and the probe are decided in each process on its own, so after the reset
period every worker lets its own probe through (N processes, N probes), and the counter update
and the state change are separate round trips that can interleave. Here each decision is one Lua
script that Redis runs atomically, with Redis's own clock (no skew between machines):

- closed: calls pass; a failure increments `failures`; the 5th failure in a row opens it.
- open: calls fail fast with `CircuitOpenError(retry_at=opened_at + reset)`.
- after the reset period the first caller to win `SET probe NX PX ttl` becomes THE probe (state
  `half_open`); everyone else still fails fast until the probe reports. The probe key has a TTL,
  so a probe whose process died is replaced after `probe_ttl` seconds.
- probe success closes the breaker (failures 0); probe failure opens it for another period.

Redis down (a deliberate choice): the breaker falls back to a breaker local to the process
(same rules, same thresholds) and logs it. Calls keep flowing while Redis is unreachable, since
PostgreSQL is the source of truth for events, and each process still stops hammering a failing
service after 5 failures. The price: while Redis is down, up to one probe per process instead
of one in total, and the health page shows the shared state Redis last had (or none).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings

from .errors import CircuitOpenError

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
KEY_PREFIX = "saas:breaker"

# KEYS: state hash, probe key. ARGV: reset seconds, probe ttl ms, token, probe wait ms.
# Returns {decision, number-as-string}: allow | probe | reject (with the time a retry may pass).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state')
if (not state) or state == 'closed' then return {'allow', '0'} end
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
local reopen = opened + tonumber(ARGV[1])
if now < reopen then return {'reject', tostring(reopen)} end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  return {'probe', '0'}
end
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 then ttl = 0 end
-- the probe's answer comes long before its lock expires: look again soon, not at the lock's end
ttl = math.min(ttl, tonumber(ARGV[4]))
return {'reject', tostring(now + ttl / 1000)}
"""

# KEYS: state hash, probe key. ARGV: token, is_probe (0|1), key ttl seconds.
_SUCCESS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'last_success_at', tostring(now))
if ARGV[2] == '1' then
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  redis.call('HDEL', KEYS[1], 'opened_at')
  state = 'closed'
elseif state == 'closed' then
  -- a late success of a call let through before the breaker opened does not close it
  redis.call('HSET', KEYS[1], 'failures', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return state
"""

# KEYS: state hash, probe key. ARGV: token, is_probe (0|1), threshold, key ttl seconds.
_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'last_failure_at', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[2] == '1' then
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', tostring(now))
  return 'open'
end
if state ~= 'closed' then return state end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', tostring(now))
  return 'open'
end
return 'closed'
"""

_client: redis.Redis | None = None
_client_lock = threading.Lock()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def redis_client() -> redis.Redis:
    """One client per process, with short timeouts: a slow Redis must not stall outgoing calls."""
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=settings.INTEGRATIONS_BREAKER_REDIS_TIMEOUT,
                socket_connect_timeout=settings.INTEGRATIONS_BREAKER_REDIS_TIMEOUT,
            )
        return _client


@dataclass(frozen=True)
class Ticket:
    """Permission for one call; hand it back with `record_success` / `record_failure`."""

    token: str
    probe: bool
    shared: bool  # False when decided by the process-local fallback (Redis unreachable)


def _ts(value: Any) -> datetime | None:
    if value in (None, b"", ""):
        return None
    return datetime.fromtimestamp(float(value), tz=UTC)


class _LocalState:
    """The process-local fallback used only while Redis is unreachable."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any]:
        return self.states.setdefault(key, {"state": CLOSED, "failures": 0, "opened_at": None, "probe": None})


_local = _LocalState()
_redis_warned_at = 0.0


def _warn_redis_down(exc: Exception) -> None:
    global _redis_warned_at
    if time.monotonic() - _redis_warned_at > 60:
        _redis_warned_at = time.monotonic()
        logger.warning(
            "breaker: Redis unreachable, using a process-local breaker", extra={"error": repr(exc)}
        )


class CircuitBreaker:
    """The shared breaker of one service for one tenant schema."""

    def __init__(self, *, schema: str, service: str) -> None:
        self.schema, self.service = schema, service
        self.key = f"{KEY_PREFIX}:{schema}:{service}"
        self.probe_key = f"{self.key}:probe"
        self.threshold = int(settings.INTEGRATIONS_BREAKER_FAILURES)
        self.reset_seconds = float(settings.INTEGRATIONS_BREAKER_RESET_SECONDS)
        self.probe_ttl = float(settings.INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS)
        # A caller turned away while the probe is out retries after this (never after the reset).
        self.probe_wait = min(5.0, self.reset_seconds)
        self.key_ttl = max(int(self.reset_seconds * 10), 86400)

    # -- the three decisions ------------------------------------------------------------------

    def before_call(self) -> Ticket:
        """Lets the call through (maybe as the one probe) or raises `CircuitOpenError`."""
        token = uuid.uuid4().hex
        try:
            decision, value = redis_client().eval(
                _ACQUIRE,
                2,
                self.key,
                self.probe_key,
                self.reset_seconds,
                int(self.probe_ttl * 1000),
                token,
                int(self.probe_wait * 1000),
            )
        except redis.RedisError as exc:
            _warn_redis_down(exc)
            return self._local_before_call(token)
        decision = decision.decode()
        if decision == "reject":
            raise CircuitOpenError(
                f"{self.service} circuit is open", retry_at=datetime.fromtimestamp(float(value), tz=UTC)
            )
        return Ticket(token=token, probe=decision == "probe", shared=True)

    def record_success(self, ticket: Ticket) -> None:
        if not ticket.shared:
            return self._local_success(ticket)
        try:
            before = self._raw_state()
            redis_client().eval(
                _SUCCESS, 2, self.key, self.probe_key, ticket.token, int(ticket.probe), self.key_ttl
            )
        except redis.RedisError as exc:
            _warn_redis_down(exc)
            return None
        if ticket.probe and before != CLOSED:
            logger.info("breaker closed", extra={"schema": self.schema, "service": self.service})
        return None

    def record_failure(self, ticket: Ticket) -> None:
        if not ticket.shared:
            return self._local_failure(ticket)
        try:
            before = self._raw_state()
            after = redis_client().eval(
                _FAILURE,
                2,
                self.key,
                self.probe_key,
                ticket.token,
                int(ticket.probe),
                self.threshold,
                self.key_ttl,
            )
        except redis.RedisError as exc:
            _warn_redis_down(exc)
            return None
        if after.decode() == OPEN and before != OPEN:
            logger.warning("breaker opened", extra={"schema": self.schema, "service": self.service})
        return None

    # -- reading ------------------------------------------------------------------------------

    def _raw_state(self) -> str:
        value = redis_client().hget(self.key, "state")
        return _text(value) if value else CLOSED

    def snapshot(self) -> dict[str, Any]:
        """`{"state", "failures", "opened_at", "retry_at", ...}` as the health endpoint shows it.

        An open breaker whose period is over reports `half_open`: the next call will be the probe.
        """
        try:
            raw = {_text(k): _text(v) for k, v in redis_client().hgetall(self.key).items()}
        except redis.RedisError as exc:
            _warn_redis_down(exc)
            local = _local.get(self.key)
            raw = {
                "state": local["state"],
                "failures": local["failures"],
                "opened_at": local["opened_at"] or "",
            }
        state = raw.get("state") or CLOSED
        opened_at = _ts(raw.get("opened_at"))
        retry_at = None
        if state in (OPEN, HALF_OPEN) and opened_at is not None:
            retry_at = datetime.fromtimestamp(opened_at.timestamp() + self.reset_seconds, tz=UTC)
            if state == OPEN and retry_at <= datetime.now(tz=UTC):
                state = HALF_OPEN
        return {
            "state": state,
            "failures": int(raw.get("failures") or 0),
            "opened_at": opened_at,
            "retry_at": retry_at,
            "last_success_at": _ts(raw.get("last_success_at")),
            "last_failure_at": _ts(raw.get("last_failure_at")),
        }

    def reset(self) -> None:
        """Forgets the state (an operator's escape hatch and a test helper)."""
        redis_client().delete(self.key, self.probe_key)
        _local.states.pop(self.key, None)

    # -- process-local fallback (Redis down) --------------------------------------------------

    def _local_before_call(self, token: str) -> Ticket:
        now = time.time()
        with _local.lock:
            st = _local.get(self.key)
            if st["state"] == CLOSED:
                return Ticket(token=token, probe=False, shared=False)
            reopen = st["opened_at"] + self.reset_seconds
            probe = st["probe"]
            if now >= reopen and (probe is None or probe[1] < now):
                st["state"], st["probe"] = HALF_OPEN, (token, now + self.probe_ttl)
                return Ticket(token=token, probe=True, shared=False)
            retry = reopen if now < reopen else min(probe[1], now + self.probe_wait)
        raise CircuitOpenError(
            f"{self.service} circuit is open", retry_at=datetime.fromtimestamp(retry, tz=UTC)
        )

    def _local_success(self, ticket: Ticket) -> None:
        with _local.lock:
            st = _local.get(self.key)
            if ticket.probe or st["state"] == CLOSED:
                st.update(state=CLOSED, failures=0, opened_at=None, probe=None)

    def _local_failure(self, ticket: Ticket) -> None:
        now = time.time()
        with _local.lock:
            st = _local.get(self.key)
            if ticket.probe:
                st.update(state=OPEN, opened_at=now, probe=None, failures=st["failures"] + 1)
            elif st["state"] == CLOSED:
                st["failures"] += 1
                if st["failures"] >= self.threshold:
                    st.update(state=OPEN, opened_at=now)


def breaker_for(*, schema: str, service: str) -> CircuitBreaker:
    return CircuitBreaker(schema=schema, service=service)
