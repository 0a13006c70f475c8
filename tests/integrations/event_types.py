"""Event types for tests only, added to every service by importing this module: test workers start
with `celery worker --include tests.integrations.event_types`, so production has none of them.

They let a test drive a real worker through the engine's paths: a slow handler (to kill a worker
mid-task), one that fails a given number of times, a no-op, and a countable side effect.
"""

import time
from collections.abc import Callable

from django.db import connection

from integrations.errors import RetryableError
from integrations.models import WebhookEvent
from integrations.providers import PROVIDERS
from integrations.providers.user_service import user_upsert


def slow_user(event: WebhookEvent) -> None:
    """Sleeps `data.sleep` seconds on its first `data.slow_attempts` attempts, then upserts the user."""
    data = event.payload["data"]
    if event.attempts <= int(data.get("slow_attempts", 1)):
        time.sleep(float(data.get("sleep", 30)))
    user_upsert(event=event)


def flaky(event: WebhookEvent) -> None:
    """Fails with RetryableError on its first `data.fail_times` attempts."""
    if event.attempts <= int(event.payload["data"].get("fail_times", 0)):
        raise RetryableError(f"test failure on attempt {event.attempts}")


def noop(event: WebhookEvent) -> None:
    return None


def count(event: WebhookEvent) -> None:
    """Appends one row per run to `test_side_effects`, a table only the fault suite creates (as the
    owner, in its tenants' schemas: tests/faults/provision.py), then sleeps `data.sleep` s on the
    first `data.slow_attempts` attempts. Not idempotent on purpose: counting its rows counts how
    often an event was applied."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO test_side_effects (event_id, attempt, pid) VALUES (%s, %s, pg_backend_pid())",
            [event.event_id, event.attempts],
        )
    data = event.payload["data"]
    if event.attempts <= int(data.get("slow_attempts", 0)):
        time.sleep(float(data.get("sleep", 0)))


HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {
    "test.slow_user": slow_user,
    "test.flaky": flaky,
    "test.noop": noop,
    "test.count": count,
}

for _module in PROVIDERS.values():
    _module.HANDLERS.update(HANDLERS)
