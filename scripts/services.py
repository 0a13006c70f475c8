#!/usr/bin/env python3
"""Make sure PostgreSQL and Redis answer before the platform starts (contract sections 1 and 9).

- `DATABASE_URL` / `REDIS_URL` set (environment or `.env`): they must answer, or we stop and say so.
- Not set: the defaults (127.0.0.1:5432 and :6379) are used when they answer; otherwise a private
  server is started under `.run/` from binaries found on this machine (PATH,
  /usr/lib/postgresql/*/bin), or we stop with a message naming the package to install.

Writes `.run/services.env` with the URLs to use; the Makefile reads it. Standard library only,
so it runs before the virtualenv exists. `stop` stops the private servers.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/saas"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PRIVATE_PG_PORT = 54329
PRIVATE_REDIS_PORT = 63799


class SetupError(Exception):
    pass


def dotenv() -> dict[str, str]:
    values: dict[str, str] = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def configured(name: str) -> str | None:
    return os.environ.get(name) or dotenv().get(name) or None


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def run_as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root; run it as the `postgres` account when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise SetupError(
            "Running as root and there is no 'postgres' user to run a private PostgreSQL as.\n"
            "Install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL."
        ) from exc
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c"]  # pragma: no cover - runuser is in util-linux


def start_private_postgres() -> str:
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise SetupError(
            "No PostgreSQL answers at 127.0.0.1:5432 and no PostgreSQL binaries were found "
            "(looked in PATH and /usr/lib/postgresql/*/bin).\n"
            "Install PostgreSQL 15 (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
            "postgresql@15) or set DATABASE_URL to a server that runs."
        )
    data = RUN / "postgres"
    prefix = run_as_postgres_user()
    RUN.mkdir(exist_ok=True)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if prefix:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not answers("127.0.0.1", PRIVATE_PG_PORT):
        log = data / "server.log"
        options = f"-p {PRIVATE_PG_PORT} -k {data} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    print(f"Started a private PostgreSQL under .run/postgres on port {PRIVATE_PG_PORT}.")
    return f"postgres://postgres@127.0.0.1:{PRIVATE_PG_PORT}/saas"


def start_private_redis() -> str:
    server = shutil.which("redis-server")
    if not server:
        raise SetupError(
            "No Redis answers at 127.0.0.1:6379 and redis-server was not found in PATH.\n"
            "Install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) "
            "or set REDIS_URL to a server that runs."
        )
    RUN.mkdir(exist_ok=True)
    if not answers("127.0.0.1", PRIVATE_REDIS_PORT):
        subprocess.run(
            [
                server,
                "--port",
                str(PRIVATE_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(RUN),
                "--pidfile",
                str(RUN / "redis.pid"),
                "--logfile",
                str(RUN / "redis.log"),
            ],
            check=True,
        )
        for _ in range(50):
            if answers("127.0.0.1", PRIVATE_REDIS_PORT):
                break
            time.sleep(0.1)
    print(f"Started a private Redis under .run/ on port {PRIVATE_REDIS_PORT}.")
    return f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"


def ensure_database(url: str) -> None:
    """Creates the database named in the URL when the server answers but the database is missing."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "saas"
    if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise SetupError(f"Database name {name!r} in DATABASE_URL: use letters, digits and underscores.")
    psql = find_binary("psql")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    base = [
        "-h",
        parsed.hostname or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
    ]
    if not psql:
        return  # Django reports a missing database plainly on migrate
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (name checked above)
    exists = subprocess.run(
        [psql, *base, "-d", "postgres", "-tAc", query],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if exists.returncode != 0:
        raise SetupError(f"PostgreSQL at {parsed.hostname}:{parsed.port} refused us: {exists.stderr.strip()}")
    if exists.stdout.strip() != "1":
        subprocess.run(
            [psql, *base, "-d", "postgres", "-qc", f'CREATE DATABASE "{name}"'], check=True, env=env
        )
        print(f"Created database {name}.")


def check_url(name: str, url: str, default_port: int) -> None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    if not answers(host, port):
        raise SetupError(
            f"{name}={url} is set, but nothing answers at {host}:{port}.\n"
            f"Start that server, or unset {name} to use the default (or a private one under .run/)."
        )


def up() -> None:
    database_url = configured("DATABASE_URL")
    if database_url:
        check_url("DATABASE_URL", database_url, 5432)
    elif answers("127.0.0.1", 5432):
        database_url = DEFAULT_DATABASE_URL
    else:
        database_url = start_private_postgres()
    ensure_database(database_url)

    redis_url = configured("REDIS_URL")
    if redis_url:
        check_url("REDIS_URL", redis_url, 6379)
    elif answers("127.0.0.1", 6379):
        redis_url = DEFAULT_REDIS_URL
    else:
        redis_url = start_private_redis()

    RUN.mkdir(exist_ok=True)
    (RUN / "services.env").write_text(f"DATABASE_URL={database_url}\nREDIS_URL={redis_url}\n")
    print(f"PostgreSQL: {database_url}\nRedis:      {redis_url}")
    check_system_tools()


SYSTEM_TOOLS = {
    # program: (what needs it, how to install it)
    "xmlsec1": (
        "SAML single sign-on (signature checks)",
        "Debian/Ubuntu: apt-get install xmlsec1; macOS: brew install libxmlsec1",
    ),
}
CHROMIUM = "/usr/bin/chromium"


def check_system_tools() -> None:
    """Says what optional system programs are present, and exactly what to install when not."""
    for program, (purpose, install) in SYSTEM_TOOLS.items():
        found = shutil.which(program)
        if found:
            print(f"{program}: {found}")
        else:
            print(
                f"warning: {program} not found; needed for {purpose}. Install it ({install}).",
                file=sys.stderr,
            )
    if os.path.exists(CHROMIUM):
        print(f"chromium: {CHROMIUM} (browser tests run)")
    else:
        print(
            f"note: no Chromium at {CHROMIUM}; the browser tests will be skipped "
            "(Debian/Ubuntu: apt-get install chromium).",
            file=sys.stderr,
        )


def down() -> None:
    pg_ctl = find_binary("pg_ctl")
    data = RUN / "postgres"
    if pg_ctl and (data / "postmaster.pid").exists():
        subprocess.run([*run_as_postgres_user(), pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=False)
    pidfile = RUN / "redis.pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def main(argv: list[str]) -> int:
    try:
        down() if argv[1:2] == ["stop"] else up()
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
