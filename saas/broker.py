"""The Celery broker transport: kombu's Redis transport, with one fix for a broker outage.

When the worker loses Redis, its consumer collects the old connection and connects again. Closing
the old channels fails half-way while Redis is down (restoring their unacknowledged messages needs
Redis), so a channel is left with its pool gone and its transport detached. A task that was running
meanwhile then acknowledges its message on that channel; kombu tries to build a new pool from the
detached transport and raises AttributeError ('NoneType' object has no attribute 'hostname'), which
is not a connection error, so it escapes the event loop and stops the worker (the kombu family of
celery/kombu#582 and #659). Here that channel says what it is, a lost broker connection: the
worker logs "Couldn't ack" and goes on, and the message is redelivered, or was lost with Redis; the
database row, not the broker, is the source of truth and processing is idempotent.

Configured by CELERY_BROKER_TRANSPORT (saas/settings/celery.py).
"""

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("this channel's broker connection was closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[no-untyped-call]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
