"""Count the round trips of one hot path in process: PostgreSQL statements (BEGIN, COMMIT and
SAVEPOINT included, and Django's connection health check) and Redis commands (the broker's too).

    python -m tests.bench.roundtrips auth_me|intake|users [--requests 500]

The same set-up and requests as `tests.bench.profile` (a fresh bench database, the tenant `bench`,
the settings of the HTTP benches); it prints the round trips per request, each statement or
command shape with its count per request, and the CPU per request (with the counting hooks on, so
read `tests.bench.profile` for the CPU figure).
"""

import argparse
import collections
import re
import time
from typing import Any

from .profile import PATHS, WarmPath


def _hook() -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Counts at the client: psycopg's statements and transaction commands, redis-py's writes."""
    import psycopg
    from psycopg import _connection_base
    from redis import connection as redis_connection

    sql: collections.Counter[str] = collections.Counter()
    redis: collections.Counter[str] = collections.Counter()

    def shape(query: Any) -> str:
        text = query.decode() if isinstance(query, bytes) else str(query)
        return re.sub(r"\s+", " ", text).strip()[:90]

    execute = psycopg.Cursor.execute

    def counted_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sql[shape(query)] += 1
        return execute(self, query, *args, **kwargs)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
    command = _connection_base.BaseConnection._exec_command

    def counted_command(self: Any, stmt: Any, *args: Any, **kwargs: Any) -> Any:
        sql[shape(stmt if isinstance(stmt, bytes) else stmt.as_string(self))] += 1
        return command(self, stmt, *args, **kwargs)

    _connection_base.BaseConnection._exec_command = counted_command  # type: ignore[method-assign]
    send = redis_connection.AbstractConnection.send_packed_command

    def counted_send(self: Any, packed: Any, *args: Any, **kwargs: Any) -> Any:
        chunks = packed if isinstance(packed, list | tuple) else [packed]
        data = b"".join(c if isinstance(c, bytes) else bytes(c) for c in chunks)
        names = re.findall(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n", data)
        redis[" + ".join(n.decode().upper() for n in names) or "?"] += 1
        return send(self, packed, *args, **kwargs)

    redis_connection.AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    return sql, redis


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args(argv)

    warm = WarmPath(args.path)
    make, send, statuses = warm.make, warm.send, warm.statuses
    environs = [make(n) for n in range(args.requests)]
    statuses.clear()
    sql, redis = _hook()
    cpu = time.process_time()
    for environ in environs:
        send(environ)
    cpu = (time.process_time() - cpu) / args.requests * 1000
    n = args.requests
    print(
        f"{args.path}: {sum(sql.values()) / n:.2f} PostgreSQL and {sum(redis.values()) / n:.2f} Redis"
        f" round trips per request; {cpu:.3f} ms CPU per request (counting on); statuses {dict(statuses)}"
    )
    for name, counter in (("PostgreSQL", sql), ("Redis", redis)):
        for text, count in counter.most_common():
            print(f"  {name} {count / n:6.3f}  {text}")


if __name__ == "__main__":
    main()
