"""A process-local copy of routing answers, kept honest by Redis pub/sub.

A Redis round trip costs as much as a small view, so routing answers are also kept in each
process's memory. Every change to a tenant or domain publishes the keys it invalidates; a daemon
thread in each process (web or worker) listens and drops them. While that listener is not
connected (Redis down, just forked, reconnecting) the local copy is not used at all, and it is
cleared whenever the listener (re)connects, so a missed message can never leave a stale answer.
A generation counter stops a lookup that raced with an invalidation from caching its old result.
"""

import logging
import os
import threading
import time
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_MISSING = object()


def channel() -> str:
    """Pub/sub channels ignore Redis database numbers: name the database so deployments don't mix."""
    return f"saas:{settings.DATABASES['default']['NAME']}:tenant-routing"


class LocalRoutingCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._pid: int | None = None

    # -- reads and writes -------------------------------------------------------------------
    def generation(self) -> int:
        self._ensure_listener()
        return self._generation

    def get(self, key: str) -> Any:
        """The cached value, or `_MISSING`; always `_MISSING` while invalidations can't be heard."""
        self._ensure_listener()
        if not self._connected:
            return _MISSING
        entry = self._data.get(key)
        if entry is None or entry[1] < time.monotonic():
            return _MISSING
        return entry[0]

    def set(self, key: str, value: Any, generation: int) -> None:
        """Stores a value read while `generation` was current, unless an invalidation came since."""
        with self._lock:
            if self._connected and generation == self._generation:
                self._data[key] = (value, time.monotonic() + self.ttl)

    def drop(self, keys: list[str]) -> None:
        with self._lock:
            self._generation += 1
            for key in keys:
                self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()

    # -- the listener -----------------------------------------------------------------------
    def _ensure_listener(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            # A forked child inherits the parent's memory but not its thread: start afresh.
            self._pid = pid
            self._connected = False
            self._data.clear()
            self._generation += 1
            threading.Thread(target=self._listen, name="tenant-routing-invalidation", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel())
                pubsub.get_message(timeout=2)  # the subscription is confirmed once this returns
                self.clear()
                self._connected = True
                last_ping = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        data = message["data"].decode()
                        self.clear() if data == "*" else self.drop(data.split("\n"))
                    if time.monotonic() - last_ping > 5:
                        pubsub.ping()
                        last_ping = time.monotonic()
            except Exception:
                if self._connected:
                    logger.warning("tenant routing invalidation listener lost Redis; local cache off")
                self._connected = False
                self.clear()
                time.sleep(1)


local_cache = LocalRoutingCache(ttl=60.0)


def publish_invalidation(keys: list[str]) -> None:
    """Drops the keys here at once and in every other process through Redis."""
    local_cache.drop(keys)
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).publish(
            channel(), "\n".join(keys)
        )
    except redis.RedisError:
        # When Redis itself is down, every listener loses its connection within a ping interval
        # (5 s) and stops using its copy; a transient failure is bounded by the TTL.
        logger.warning("could not publish tenant routing invalidation", extra={"keys": keys})


MISSING = _MISSING
