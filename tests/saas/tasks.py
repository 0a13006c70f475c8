"""A task for the worker tests only (loaded by the test worker through CELERY_IMPORTS)."""

from celery import shared_task


@shared_task
def note_connection(key: str) -> None:
    """Appends `<backend pid> <schema>` of the worker's database connection to a Redis list."""
    import redis
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_schema()")
        pid, schema = cursor.fetchone()
    redis.Redis.from_url(settings.REDIS_URL).rpush(key, f"{pid} {schema}")


@shared_task
def fail_with_secrets(owner_email: str, password: str) -> None:
    """Fails with secrets and personal data in its arguments, locals and message (test_sentry.py)."""
    api_token = "tok-" + password  # noqa: F841 - a local the error tracker must not see
    raise RuntimeError(f"could not sign in {owner_email} with password={password}")
