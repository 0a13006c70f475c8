"""django-tenants' backend, made safe behind PgBouncer in transaction pooling mode.

django-tenants sets the tenant's schema with a session-level `SET search_path` and remembers that it
did (TENANT_LIMIT_SET_CALLS). Behind a transaction pooler a session is not a connection: every
transaction, and in autocommit every statement, may run on a different server connection, one whose
search_path another client (another tenant) set last. With `DATABASES["default"]["POOLER"]` set
(DATABASE_POOLER=pgbouncer) and connected to that address, this backend never relies on the
session: every statement is sent as `SET search_path = <schemas>; <statement>` in one query
message (client-side binding, the default of Django's psycopg backend), which PgBouncer runs on
one server connection and PostgreSQL in one implicit transaction. Inside a transaction the SET
repeats per statement; it costs a parse, not a round trip. An `executemany` in autocommit runs in
its own transaction for the same reason.

What else a transaction pooler does not carry across transactions is off too: server-side cursors
(DISABLE_SERVER_SIDE_CURSORS, settings) and prepared statements (psycopg's `prepare_threshold`).
The platform takes no session advisory locks and does not LISTEN (its locks live in Redis).

The health check (CONN_HEALTH_CHECKS) before a request's first query costs no round trip: an idle
connection that libpq still holds as good, outside a transaction, with nothing to read on its
socket, is usable. A server that went away (`pg_terminate_backend`, a restart, PgBouncer's restart)
sends its termination notice and closes the socket, which makes it readable: then, and whenever the
state is anything but idle, Django's `SELECT 1` decides, and a failed one replaces the connection
before the request uses it.
"""

import re
import select
from collections.abc import Callable
from functools import cache
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django_tenants.postgresql_backend import base as tenant_base
from django_tenants.utils import quote_schema_name
from psycopg import pq, sql

from .introspection import SchemaTableIntrospection

# Sent alone, without the SET: transaction control (after an error only ROLLBACK [TO SAVEPOINT] is
# accepted, so a SET in front of it would fail and the savepoint would never be rolled back), and
# what PostgreSQL refuses inside a transaction block, which a multi-statement query is.
_SENT_ALONE = re.compile(
    r"^\s*(?:SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN|START\s+TRANSACTION|END|ABORT|VACUUM|REINDEX"
    r"|(?:CREATE|DROP)\s+DATABASE|(?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+)INDEX\s+CONCURRENTLY)\b",
    re.IGNORECASE,
)


@cache
def _pooled_cursor_class(base: type) -> type:
    """`base` (psycopg's client-side cursor, as django-prometheus wraps it) with the schema sent
    along with every statement."""

    class PooledCursor(base):
        search_path_statement: Callable[[], str] | None = None

        def execute(self, query: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
            if self.search_path_statement is None or (isinstance(query, str) and _SENT_ALONE.match(query)):
                return super().execute(query, params, *args, **kwargs)
            prefix = self.search_path_statement()
            if params is not None:  # psycopg interpolates `%` in a query that has parameters
                prefix = prefix.replace("%", "%%")
            query = prefix + query if isinstance(query, str) else sql.SQL(prefix) + query
            super().execute(query, params, *args, **kwargs)
            self.nextset()  # the statement's own result, not the SET's
            return self

        def executemany(self, query: Any, params_seq: Any, *args: Any, **kwargs: Any) -> Any:
            if self.search_path_statement is None:
                return super().executemany(query, params_seq, *args, **kwargs)
            statement = self.search_path_statement().rstrip("; ")
            if not self.connection.autocommit:
                super().execute(statement)
                return super().executemany(query, params_seq, *args, **kwargs)
            with self.connection.transaction():
                super().execute(statement)
                return super().executemany(query, params_seq, *args, **kwargs)

    PooledCursor.__name__ = PooledCursor.__qualname__ = f"Pooled{base.__name__}"
    return PooledCursor


def _socket_readable(fd: int) -> bool:
    """Whether anything (data, end of file, an error) is waiting on `fd`, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(tenant_base.DatabaseWrapper):
    health_check_done: bool  # Django's, set per request by close_if_unusable_or_obsolete

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.introspection = SchemaTableIntrospection(self)  # lists one schema's tables, not all

    @property
    def pooled(self) -> bool:
        """True while connected through the transaction pooler: DATABASES["default"]["POOLER"] names
        its address, so the same settings connected elsewhere (migrations, as the owner role, go to
        PostgreSQL itself: tenants.roles.connected_as_owner) are not treated as pooled."""
        address = self.settings_dict.get("POOLER")
        where = (self.settings_dict.get("HOST") or "", str(self.settings_dict.get("PORT") or ""))
        return bool(address) and tuple(address) == where

    def close_if_health_check_failed(self) -> None:
        """Django's health check, without its round trip where the client can tell (module docstring)."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            super().close_if_health_check_failed()
            return
        if not self._usable_without_round_trip():
            self.close()
        self.health_check_done = True

    def _usable_without_round_trip(self) -> bool:
        """The health check, from the client's side when that can tell (module docstring)."""
        conn = self.connection
        if conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return bool(self.is_usable())  # in a transaction, or in doubt: the server decides
        try:
            readable = _socket_readable(pgconn.socket)
        except (OSError, ValueError, psycopg.Error):
            return False
        # Nothing is sent to an idle client but its server's goodbye (or, rarely, a notice): ask.
        return not readable or bool(self.is_usable())

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.pooled:
            params["cursor_factory"] = _pooled_cursor_class(params["cursor_factory"])
            params["prepare_threshold"] = None  # a prepared statement lives in one server session
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        if self.pooled and name is None:
            cursor.search_path_statement = self._search_path_statement
        return cursor

    def _cursor(self, name: str | None = None) -> Any:
        if not self.pooled or name:
            return super()._cursor(name)
        # Skip django-tenants' session-level SET: the search_path travels with each statement.
        return super(tenant_base.DatabaseWrapper, self)._cursor()

    def _search_path_statement(self) -> str:
        if not self.schema_name:
            raise ImproperlyConfigured("Database schema not set: call set_schema() or set_tenant() first.")
        schemas = ", ".join(quote_schema_name(s) for s in self._get_cursor_search_paths())
        return f"SET search_path = {schemas}; "
