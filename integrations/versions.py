"""Stale-event detection: the newest `occurred_at` applied per object, advanced atomically."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

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


@dataclass(frozen=True)
class Select:
    """A SELECT of every concrete column of `model`, compiled once (`select_compile`) and run with
    parameters of the same shape each time: a handler's per-event read costs no ORM compilation."""

    model: type[Model]
    sql: str
    names: tuple[str, ...]


def select_compile(queryset: QuerySet[Any]) -> tuple[Select, list[Any]]:
    """The queryset's SELECT of its model's concrete columns, and the parameters it was compiled with."""
    model = queryset.model
    names = tuple(field.attname for field in model._meta.concrete_fields)
    sql, params = queryset.values_list(*names).query.sql_with_params()
    return Select(model=model, sql=sql, names=names), list(params)


def version_advance_and_fetch(
    *,
    object_type: str,
    object_id: str,
    occurred_at: datetime,
    event_id: str,
    queryset: QuerySet[Any] | None = None,
    select: tuple[Select, Sequence[Any]] | None = None,
) -> tuple[bool, list[Any]]:
    """`version_advance`, and the rows of `queryset` (or of a compiled `select` with its parameters)
    read right after it, in one round trip (the two statements are sent together: a handler's reads
    cost no extra wait on the database)."""
    if select is None:
        if queryset is None:
            raise TypeError("version_advance_and_fetch needs a queryset or a select")
        select = select_compile(queryset)
    compiled, select_params = select
    sql, params = _advance(object_type, object_id, occurred_at, event_id)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql.strip()};\n{compiled.sql}", [*params, *select_params])
        current = cursor.fetchone() is not None
        cursor.nextset()
        rows = cursor.fetchall()
    names = list(compiled.names)
    return current, [compiled.model.from_db(connection.alias, names, row) for row in rows]
