"""Deploys that cost what changed: find the schemas behind their migrations, migrate only those.

Django's `migrate` in a schema that is up to date still costs a migration graph check, four catalogue
lookups and the `post_migrate` handlers; django-tenants pays that in every schema of every deploy
(560 s at 1,000 tenants, docs/scale.md). Here each schema's `django_migrations` rows are compared
with the migrations on disk, for hundreds of schemas per query, and only the schemas that miss one
are migrated: in a pool of processes (PostgreSQL does the work, so as many as it has cores), each
schema on its own, a failure recorded and the others carried on. A rerun finds the failed schemas
still behind and finishes them.
"""

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import quote_schema_name

from saas.typing import connection

from .roles import schema_grant_app

# Schemas per comparison query: each query holds a lock on every `django_migrations` it reads, and
# PostgreSQL's lock table has room for max_locks_per_transaction (64) x max_connections of them.
CHUNK = 500

_LOCAL_HOSTS = ("", "127.0.0.1", "localhost", "::1")


def migrations_on_disk() -> frozenset[tuple[str, str]]:
    """(app, name) of every migration the code has: what every schema has applied when current."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def schemas_behind(schemas: Sequence[str], *, expected: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """The schemas, in the order given, that miss a migration on disk (or have no migration table)."""
    wanted = sorted(f"{app}.{name}" for app, name in (migrations_on_disk() if expected is None else expected))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
            " WHERE c.relname = 'django_migrations' AND c.relkind = 'r'"
            " AND n.nspname IN (SELECT unnest(%s::text[]))",
            [list(schemas)],
        )
        with_table = [row[0] for row in cursor.fetchall()]
        current: set[str] = set()
        for start in range(0, len(with_table), CHUNK):
            chunk = with_table[start : start + CHUNK]
            # Counted in each branch: no sort or hash over every row of every schema.
            union = " UNION ALL ".join(
                "SELECT %s, count(DISTINCT app || '.' || name) FILTER (WHERE app || '.' || name = ANY(%s))"  # noqa: S608
                f" FROM {quote_schema_name(schema)}.django_migrations"  # quoted names
                for schema in chunk
            )
            cursor.execute(union, [value for schema in chunk for value in (schema, wanted)])
            current.update(schema for schema, count in cursor.fetchall() if count == len(wanted))
    return [schema for schema in schemas if schema not in current]


def migration_processes() -> int:
    """TENANT_MIGRATION_PROCESSES, or (0) PostgreSQL's cores when it runs on this machine, else 4."""
    configured: int = settings.TENANT_MIGRATION_PROCESSES
    if configured > 0:
        return configured
    host = settings.MIGRATION_DATABASE.get("HOST") or ""
    local = host in _LOCAL_HOSTS or host.startswith("/")
    return (os.cpu_count() or 1) if local else 4


@dataclass(frozen=True)
class Outcome:
    schema: str
    error: str = ""


def _migrate_one(args: tuple[Any, ...], options: dict[str, Any], item: tuple[int, int, str]) -> Outcome:
    """Migrates one schema and applies the app role's privileges; an exception becomes the outcome."""
    index, count, schema = item
    try:
        run_migrations(args, options, "parallel", schema, allow_atomic=False, idx=index, count=count)
        schema_grant_app(schema_name=schema)
        return Outcome(schema)
    except Exception as exc:
        connections.close_all()  # a broken transaction must not leak into the next schema
        first_line = str(exc).strip().split("\n", 1)[0]
        return Outcome(schema, f"{type(exc).__name__}: {first_line}")
    finally:
        connection.set_schema_to_public()


def schemas_migrate(
    schemas: Sequence[str],
    *,
    args: tuple[Any, ...],
    options: dict[str, Any],
    processes: int,
    report: Callable[[int, int, Outcome], None],
) -> list[Outcome]:
    """Migrates each schema, `processes` at a time (forked workers); returns the failures.

    `report(n, count, outcome)` is called in this process as each schema finishes."""
    count = len(schemas)
    items = [(index, count, schema) for index, schema in enumerate(schemas)]
    failures: list[Outcome] = []

    def done(n: int, outcome: Outcome) -> None:
        if outcome.error:
            failures.append(outcome)
        report(n, count, outcome)

    if processes <= 1 or count <= 1:
        for n, item in enumerate(items, start=1):
            done(n, _migrate_one(args, options, item))
        return failures
    connections.close_all()  # forked workers must not share this process's connection
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=min(processes, count)) as pool:
        results = pool.imap_unordered(_call, [(args, options, item) for item in items])
        for n, outcome in enumerate(results, start=1):
            done(n, outcome)
    return failures


def _call(packed: tuple[tuple[Any, ...], dict[str, Any], tuple[int, int, str]]) -> Outcome:
    return _migrate_one(*packed)
