"""Periodic dispatch that stays single however many Celery beats run (one per worker host)."""

import time

from django_redis import get_redis_connection


def beat_slot_take(name: str, interval: float, *, now: float | None = None) -> bool:
    """True for the first caller in this `interval`'s slot (time // interval), False for the others.

    More than one beat (one per worker host) is harmless: each periodic dispatch runs once per
    interval whichever beat sent it (a Redis SET NX per schedule entry and slot). With Redis down
    the broker is down too; the dispatch then runs (what it sends is idempotent anyway)."""
    slot = int((time.time() if now is None else now) // interval)
    try:
        client = get_redis_connection("default")
        return bool(client.set(f"saas:beat-slot:{name}:{slot}", "1", nx=True, ex=int(interval * 2) + 1))
    except Exception:
        return True
