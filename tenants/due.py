"""Tenants' background work, found with one query on the public schema however many tenants exist.

Each outbox of a tenant (webhook events, messages, mails: rows that carry the time they are due)
registers here from its app's `ready()` (`outbox_register`). Whatever makes such a row due writes the
tenant's marker (`due_mark`, `TenantWork` in public) in the same transaction. The periodic dispatch
(`due_dispatch`) reads the markers of all tenants in one statement and sends a sweep only to the
tenants with work due; that sweep (`due_sweep`) runs every outbox's sweep in the tenant's schema and
then sets the marker to the earliest due time left, or clears it (`due_refresh`). A tenant with
nothing due gets no task and no query in its schema.

Why nothing is lost:
- the marker is never later than a due row: writers only move it earlier (LEAST), and the refresh
  reads the rows after locking the marker row, so a row committed after that read moves it again;
- moving a row's due time later (a lease, a grace period) needs no write at all;
- a dispatched sweep whose broker message is lost leaves the marker due a lease later: found again.

A hot writer (webhook intake) may skip the marker's row lock: `due_mark_sql(lock_free=True)` writes
the marker only when it would change and merely reads it otherwise, so concurrent writers of one
tenant no longer queue on that row through each other's commits. Such a writer's table is named in
its outbox's `tables`; the refresh then waits for every transaction writing those tables that may
have read the marker before the refresh moved it (`LOCK TABLE ... IN SHARE MODE` after its own
commit) and reads their rows again. This relies on PostgreSQL taking a READ COMMITTED statement's
snapshot after the locks on its tables: a writer that read the old marker already held its table
lock when the new one was committed.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from saas.typing import connection

from .models import Tenant, TenantStatus, TenantWork
from .selectors import tenant_with_schema_list


@dataclass(frozen=True)
class Outbox:
    """One kind of due row in a tenant's schema; every callable runs in the active tenant schema."""

    name: str
    sweep: Callable[[], int]  # enqueues what is due now; returns how many
    next_due: Callable[[], datetime | None]  # the earliest due time of its rows (None: nothing)
    purge: Callable[[], int] | None = None  # retention: deletes finished rows past their days
    tables: tuple[str, ...] = ()  # tables (in the tenant's schema) written with a lock-free mark


_OUTBOXES: dict[str, Outbox] = {}


def outbox_register(
    *,
    name: str,
    sweep: Callable[[], int],
    next_due: Callable[[], datetime | None],
    purge: Callable[[], int] | None = None,
    tables: tuple[str, ...] = (),
) -> None:
    """Adds an outbox to every tenant's sweep (and retention); called from an app's ready().

    `tables`: the tables whose writers mark with `due_mark_sql(lock_free=True)` (see above)."""
    _OUTBOXES[name] = Outbox(name=name, sweep=sweep, next_due=next_due, purge=purge, tables=tables)


def outboxes() -> list[Outbox]:
    return list(_OUTBOXES.values())


def _table() -> str:
    return f"public.{connection.ops.quote_name(TenantWork._meta.db_table)}"


# Moves the marker earlier, never later. `active_at` is refreshed at most hourly, so a busy tenant's
# writes mostly leave the row as it is (the WHERE only locks it until the writer commits).
_MARK_SQL = """
INSERT INTO {table} AS w (schema_name, due_at, active_at) {values}
ON CONFLICT (schema_name) DO UPDATE
   SET due_at = LEAST(w.due_at, EXCLUDED.due_at), active_at = GREATEST(w.active_at, EXCLUDED.active_at)
 WHERE w.due_at IS NULL OR w.due_at > EXCLUDED.due_at
    OR w.active_at < EXCLUDED.active_at - interval '1 hour'
"""


# The upsert's own WHERE, negated: the marker is already early enough and its activity recent.
_MARK_NEEDED_SQL = """NOT EXISTS (
    SELECT 1 FROM {table} AS c
     WHERE c.schema_name = %s AND c.due_at <= %s::timestamptz
       AND c.active_at >= %s::timestamptz - interval '1 hour')"""


def due_mark_sql(*, at: datetime, when: str = "", lock_free: bool = False) -> tuple[str, list[Any]]:
    """The marker's upsert for the active schema as SQL and parameters, to run inside a statement
    of the caller's (a data-modifying CTE: `when` is a condition such as `EXISTS (SELECT 1 FROM x)`).

    `lock_free=True` first reads the marker and upserts only when that would change it, so the
    statement takes the marker's row lock only then (the plain upsert locks the row even when its
    WHERE leaves it as it is). Only for rows of a table listed in its outbox's `tables`: the refresh
    waits for that table's writers instead of relying on the row lock."""
    schema, now = connection.schema_name, timezone.now()
    params = [schema, at, now, schema, at, now] if lock_free else [schema, at, now]
    return _mark_sql_text(when, lock_free), params


@functools.lru_cache(maxsize=16)
def _mark_sql_text(when: str, lock_free: bool) -> str:
    conditions = [when] if when else []
    if lock_free:
        conditions.append(_MARK_NEEDED_SQL.format(table=_table()))
    values = "SELECT %s, %s::timestamptz, %s::timestamptz"
    if conditions:
        values += " WHERE " + " AND ".join(conditions)
    return _MARK_SQL.format(table=_table(), values=values)


def due_mark(*, at: datetime) -> None:
    """Records that the active tenant has work due at `at`: call it in the transaction that makes a
    row due (or just before a statement that does, outside one)."""
    if connection.schema_name == "public":
        return
    sql, params = due_mark_sql(at=at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# Only `active_at` moves (at most hourly); a new row has nothing due.
_ACTIVITY_SQL = """
INSERT INTO {table} AS w (schema_name, due_at, active_at) VALUES (%s, NULL, %s)
ON CONFLICT (schema_name) DO UPDATE SET active_at = EXCLUDED.active_at
 WHERE w.active_at < EXCLUDED.active_at - interval '1 hour'
"""


def activity_mark() -> None:
    """Records that the active tenant wrote rows a periodic job must clean up later (credentials),
    without making anything due: the job then visits only tenants active within its period."""
    if connection.schema_name == "public":
        return
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVITY_SQL.format(table=_table()), [connection.schema_name, timezone.now()])


def active_schemas(*, since: datetime) -> list[str]:
    """Active tenants that wrote work or credentials since `since`, by schema name."""
    return list(
        TenantWork.objects.filter(active_at__gte=since, schema_name__in=_active_schemas_subquery())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def _active_schemas_subquery() -> "QuerySet[Tenant, Any]":
    return tenant_with_schema_list(status=TenantStatus.ACTIVE).order_by().values("schema_name")


def due_dispatch(*, now: datetime | None = None) -> list[str]:
    """The active tenants with work due, each taken for one sweep: their marker moves a lease
    (TENANT_DUE_LEASE_SECONDS) ahead, so a second beat or the next tick does not send a second
    sweep, and a sweep that never runs leaves the tenant due again after the lease. One transaction
    on the public schema; a marker being written right now (SKIP LOCKED) waits for the next tick."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.TENANT_DUE_LEASE_SECONDS)
    with transaction.atomic():
        schemas = list(
            TenantWork.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now, schema_name__in=_active_schemas_subquery())
            .order_by("due_at")
            .values_list("schema_name", flat=True)
        )
        if schemas:
            TenantWork.objects.filter(schema_name__in=schemas).update(due_at=lease)
    return schemas


def due_next() -> datetime | None:
    """The earliest due time of the active schema's outboxes (one index lookup each)."""
    times = [when for outbox in outboxes() if (when := outbox.next_due()) is not None]
    return min(times) if times else None


def due_refresh() -> datetime | None:
    """Sets the active tenant's marker to its earliest due time, or clears it; returns that time.

    The marker row is locked before the outboxes are read: a writer that commits a due row after
    the read waits for this transaction and then moves the marker earlier again (never lost).
    Writers with a lock-free mark (the outboxes' `tables`) take no row lock; once the new marker is
    committed (they read it from then on), the refresh waits for those tables' open writers, which
    may have read the old one, and marks what they stored (`_refresh_lock_free`)."""
    schema = connection.schema_name
    with transaction.atomic():
        held = TenantWork.objects.select_for_update().filter(schema_name=schema).exists()
        when = due_next()
        if held:
            TenantWork.objects.filter(schema_name=schema).update(due_at=when)
        elif when is not None:
            due_mark(at=when)
    return _refresh_lock_free(when)


# How long the refresh waits for the open writers of the outboxes' tables. Deliveries to the tenant
# queue behind that wait; past it the refresh gives up and marks the tenant due a lease later, when
# the next sweep looks again (an open writer's rows are found then, at the latest).
_WRITERS_WAIT = "500ms"


def _refresh_lock_free(when: datetime | None) -> datetime | None:
    """The second half of `due_refresh`: SHARE MODE waits for every open transaction writing one of
    the tables (and holds new ones back for this short transaction only); the outboxes read after
    it see their rows. A separate transaction that locks no marker row while it waits, so a writer
    holding the marker row and then writing such a table cannot deadlock with it."""
    tables = [table for outbox in outboxes() for table in outbox.tables]
    if not tables or connection.schema_name == "public":
        return when
    names = ", ".join(connection.ops.quote_name(table) for table in tables)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [_WRITERS_WAIT])
            cursor.execute(f"LOCK TABLE {names} IN SHARE MODE")
            later = due_next()
    except OperationalError:  # lock_timeout: a long writer is open; look again a lease later
        later = timezone.now() + timedelta(seconds=settings.TENANT_DUE_LEASE_SECONDS)
    if later is not None and (when is None or later < when):
        due_mark(at=later)
        return later
    return when


def due_sweep() -> int:
    """One tenant's sweep (in its schema): every outbox's due rows enqueued, then its marker set."""
    total = sum(outbox.sweep() for outbox in outboxes())
    due_refresh()
    return total


def retention_schemas(*, now: datetime | None = None) -> list[str]:
    """Active tenants that may have rows old enough to delete: work written within the longest
    retention period (and a day), so a tenant idle for longer gets no retention task at all."""
    days = max(settings.WEBHOOK_RETENTION_DAYS, settings.EMAIL_RETENTION_DAYS) + 1
    return active_schemas(since=(now or timezone.now()) - timedelta(days=days))


def retention_run() -> int:
    """One tenant's retention (in its schema): every outbox's purge."""
    return sum(outbox.purge() for outbox in outboxes() if outbox.purge is not None)
