"""Stale-event detection: the newest `occurred_at` applied per object, advanced atomically."""

from datetime import datetime

from django.db import connection

from .models import AppliedVersion


def version_advance(*, object_type: str, object_id: str, occurred_at: datetime, event_id: str) -> bool:
    """Records `occurred_at` for the object if it is newer than what was applied; False means stale.

    An event with the same `occurred_at` as the applied one (a replay of it) counts as current."""
    table = connection.ops.quote_name(AppliedVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (object_type, object_id, occurred_at, event_id)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (object_type, object_id) DO UPDATE
               SET occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
             WHERE {table}.occurred_at <= EXCLUDED.occurred_at
            RETURNING 1
            """,  # noqa: S608  (table name from the model, values as parameters)
            [object_type, object_id, occurred_at, event_id],
        )
        return cursor.fetchone() is not None
