"""The hot paths' big statements as prepared statements of the server session, still bound on the
client.

Django's psycopg backend binds parameters on the client, so PostgreSQL parses, analyses and plans
every statement on every execution. For a statement with CTEs and conflict clauses, planning
costs more than running it: the intake's insert with its due mark took 0.60 ms of the server per
execution as text and 0.29 ms prepared (pgbench, docs/benchmarks.md). Server-side binding
(`OPTIONS["server_side_binding"]`) would prepare everything, but it refuses the two-statement
queries that save round trips elsewhere (integrations/versions.py) and the pooler's
`SET search_path = ...; <statement>` (saas/db/base.py).

`execute(cursor, statement, params)` sends `PREPARE` once per server session, then `EXECUTE
name(...)` with the parameters as literals. PostgreSQL parses a prepared statement again when the
search_path differs from the one it was prepared under, so one prepared statement serves every
tenant's schema. A prepared statement outlives a rolled-back transaction. Behind a transaction
pooler a session is not a connection, so there the statement is sent as text, as before.

PostgreSQL refuses to run a prepared statement whose result columns changed type since it was
prepared ("cached plan must not change result type"), which a migration can cause, or tenants whose
schemas are migrated one after the other. Statements should therefore return columns whose type no
migration changes (`::text` for a varchar, whose length may). Should it happen all the same, the
execution fails once and the next one prepares the statement again; a session that lost its
statements (`DEALLOCATE`, `DISCARD ALL`) recovers the same way.
"""

import hashlib
import re
import weakref
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError

_PLACEHOLDER = re.compile(r"%%|%s")
_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name
_RESULT_TYPE_CHANGED = "0A000"  # feature_not_supported: "cached plan must not change result type"


class _Session:
    """What this process prepared on one server session, and what it must drop before preparing again."""

    def __init__(self) -> None:
        self.prepared: set[str] = set()
        self.stale: set[str] = set()


_sessions: "weakref.WeakKeyDictionary[Any, _Session]" = weakref.WeakKeyDictionary()


class Statement:
    """One statement written with psycopg's `%s` placeholders (`%%` for a literal `%`), and its
    `PREPARE` and `EXECUTE` forms. `label` names it in `pg_prepared_statements` and query logs;
    `prepare=False` sends it as text (one too rare, or too large, to be worth a prepared plan)."""

    def __init__(self, sql: str, *, label: str, prepare: bool = True) -> None:
        self.sql = sql
        self.prepare = prepare
        self.name = f"{label}_{hashlib.sha256(sql.encode()).hexdigest()[:10]}"
        count = 0

        def numbered(match: re.Match[str]) -> str:
            nonlocal count
            if match.group() == "%%":
                return "%"
            count += 1
            return f"${count}"

        self.prepare_sql = f"PREPARE {self.name} AS {_PLACEHOLDER.sub(numbered, sql)}"
        self.execute_sql = f"EXECUTE {self.name}" + (f"({', '.join(['%s'] * count)})" if count else "")
        self.params = count


def execute(cursor: Any, statement: Statement, params: Sequence[Any]) -> None:
    """Runs `statement` on a Django cursor: as a prepared statement of the session, or as text
    behind a transaction pooler (and when the statement is not to be prepared)."""
    if len(params) != statement.params:
        raise ValueError(f"{statement.name} takes {statement.params} parameters, not {len(params)}")
    if not statement.prepare or getattr(cursor.db, "pooled", False):
        cursor.execute(statement.sql, params)
        return
    connection = cursor.cursor.connection
    session = _sessions.get(connection)
    if session is None:
        session = _sessions[connection] = _Session()
    name = statement.name
    if name not in session.prepared:
        if name in session.stale:
            cursor.execute(f"DEALLOCATE {name}")
            session.stale.discard(name)
        cursor.execute(statement.prepare_sql)
        session.prepared.add(name)
    try:
        cursor.execute(statement.execute_sql, params)
    except DatabaseError as exc:
        state = getattr(exc.__cause__, "sqlstate", None)
        if state in (_NO_SUCH_STATEMENT, _RESULT_TYPE_CHANGED):  # prepared again by the next call
            session.prepared.discard(name)
            if state == _RESULT_TYPE_CHANGED:
                session.stale.add(name)  # it still exists: dropped first
        raise
