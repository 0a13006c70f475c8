"""Stale-event detection: the newest `occurred_at` applied per object, advanced atomically."""

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from .models import AppliedVersion

_ADVANCE_SQL = """
INSERT INTO {table} (object_type, object_id, occurred_at, event_id)
VALUES (%s, %s, %s, %s)
ON CONFLICT (object_type, object_id) DO UPDATE
   SET occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
 WHERE {table}.occurred_at <= EXCLUDED.occurred_at
RETURNING 1
"""


def _advance(object_type: str, object_id: str, occurred_at: datetime, event_id: str) -> tuple[str, list[Any]]:
    table = connection.ops.quote_name(AppliedVersion._meta.db_table)
    return _ADVANCE_SQL.format(table=table), [object_type, object_id, occurred_at, event_id]


def version_advance(*, object_type: str, object_id: str, occurred_at: datetime, event_id: str) -> bool:
    """Records `occurred_at` for the object if it is newer than what was applied; False means stale.

    An event with the same `occurred_at` as the applied one (a replay of it) counts as current."""
    sql, params = _advance(object_type, object_id, occurred_at, event_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def version_advance_and_fetch(
    *, object_type: str, object_id: str, occurred_at: datetime, event_id: str, queryset: QuerySet[Any]
) -> tuple[bool, list[Any]]:
    """`version_advance`, and the rows of `queryset` read right after it, in one round trip (the two
    statements are sent together: a handler's reads cost no extra wait on the database)."""
    model = queryset.model
    names = [field.attname for field in model._meta.concrete_fields]
    select_sql, select_params = queryset.values_list(*names).query.sql_with_params()
    sql, params = _advance(object_type, object_id, occurred_at, event_id)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql.strip()};\n{select_sql}", [*params, *select_params])
        current = cursor.fetchone() is not None
        cursor.nextset()
        rows = cursor.fetchall()
    return current, [model.from_db(connection.alias, names, row) for row in rows]
