#!/usr/bin/env python3
"""Make sure PostgreSQL and Redis answer before the platform starts (`make run`, `make test`).

- `DATABASE_URL` / `REDIS_URL` set (environment or `.env`): they must answer, or we stop and say so.
- Not set: the defaults (127.0.0.1:5432 and :6379) are used when they answer; otherwise a private
  server is started under `.run/` from binaries found on this machine (PATH,
  /usr/lib/postgresql/*/bin), or we stop with a message naming the package to install.

Database roles (docs/operations.md, "Database roles"): the platform's processes connect as an app
role that owns nothing, migrations as the owner role.
- `DATABASE_URL` names a superuser (the default `postgres`, a private server): it only sets up.
  It creates the database, the roles `<database>_owner` and `<database>_app` (so `saas_owner` and
  `saas_app` for `saas`) with passwords kept in `.run/services.env`, and hands the database and
  everything in it to the owner role; the derived URLs are the ones written below.
- `DATABASE_URL` names any other role: that is the app role, as given, and `MIGRATION_DATABASE_URL`
  must name the owner role (create both with the SQL in docs/operations.md).

Writes `.run/services.env` with the URLs to use (DATABASE_URL: app role, MIGRATION_DATABASE_URL:
owner role, REDIS_URL); the Makefile reads it. Standard library only, so it runs before the
virtualenv exists. `stop` stops the private servers; `roles` creates the roles that DATABASE_URL and
MIGRATION_DATABASE_URL name, as the superuser BOOTSTRAP_DATABASE_URL names (docker-compose.yml).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/saas"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PRIVATE_PG_PORT = 54329
PRIVATE_REDIS_PORT = 63799
PRIVATE_PGBOUNCER_PORT = 64329


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


def pgbouncer_write_config(
    folder: Path, *, port: int, server_url: str, users: dict[str, str], pool_size: int = 20
) -> Path:
    """pgbouncer.ini (and its user list) for a PgBouncer on 127.0.0.1:`port` in transaction pooling
    mode in front of the server `server_url` names, any database; returns the ini's path.

    Clients are trusted (it listens on 127.0.0.1 only); PgBouncer logs in to PostgreSQL as the
    client's user with the password of `users`. `pool_size` server connections per (database, user)."""
    server = urlparse(server_url)
    folder.mkdir(parents=True, exist_ok=True)
    userlist = folder / "userlist.txt"
    userlist.write_text("".join(f'"{user}" "{password}"\n' for user, password in users.items()))
    userlist.chmod(0o600)
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {userlist}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 1000\nmax_db_connections = 0\n"
        "server_reset_query =\nserver_check_delay = 1\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it runs as `postgres`
        for path in (folder, userlist, ini):
            shutil.chown(path, "postgres", "postgres")
    return ini


def pgbouncer_command(ini: Path, *, daemon: bool = False) -> list[str]:
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        raise SetupError("PGBOUNCER=1 needs PgBouncer (Debian/Ubuntu: apt-get install pgbouncer).")
    return [*run_as_postgres_user(), binary, *(["-d"] if daemon else []), str(ini)]


def _role_passwords(*urls: str) -> dict[str, str]:
    return {unquote(u.username or ""): unquote(u.password or "") for u in map(urlparse, urls) if u.username}


def start_private_pgbouncer(app_url: str, migration_url: str) -> str:
    """PgBouncer under .run/pgbouncer in front of `app_url`'s server; returns the app URL through it."""
    folder = RUN / "pgbouncer"
    ini = pgbouncer_write_config(
        folder, port=PRIVATE_PGBOUNCER_PORT, server_url=app_url, users=_role_passwords(app_url, migration_url)
    )
    if answers("127.0.0.1", PRIVATE_PGBOUNCER_PORT):  # a running one: re-read the new config
        pid = (folder / "pgbouncer.pid").read_text().strip() if (folder / "pgbouncer.pid").exists() else ""
        if pid:
            subprocess.run(["kill", "-HUP", pid], check=False)
    else:
        subprocess.run(pgbouncer_command(ini, daemon=True), check=True)
        for _ in range(50):
            if answers("127.0.0.1", PRIVATE_PGBOUNCER_PORT):
                break
            time.sleep(0.1)
    print(f"PgBouncer (transaction pooling) under .run/pgbouncer on port {PRIVATE_PGBOUNCER_PORT}.")
    parsed = urlparse(app_url)
    netloc = parsed.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{PRIVATE_PGBOUNCER_PORT}"
    return urlunparse(parsed._replace(netloc=netloc))


def database_name(url: str) -> str:
    name = urlparse(url).path.lstrip("/") or "saas"
    if not re.fullmatch(r"[A-Za-z0-9_]{1,57}", name):
        raise SetupError(f"Database name {name!r}: use up to 57 letters, digits and underscores.")
    return name


def psql(url: str, sql: str, *, database: str | None = None) -> str:
    """Runs SQL with psql as the URL's role (on `database`, default the URL's); returns its output."""
    binary = find_binary("psql")
    if not binary:
        raise SetupError(
            "psql not found: the set-up needs it to create the database roles.\n"
            "Install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; macOS: "
            "brew install libpq), or set both DATABASE_URL (app role) and MIGRATION_DATABASE_URL (owner)."
        )
    parsed = urlparse(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    if parsed.password:
        env["PGPASSWORD"] = unquote(parsed.password)
    argv = [binary, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", parsed.hostname or "127.0.0.1"]
    argv += ["-p", str(parsed.port or 5432), "-U", unquote(parsed.username or "postgres")]
    argv += ["-d", database or database_name(url)]
    result = subprocess.run(argv, input=sql, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SetupError(
            f"PostgreSQL at {parsed.hostname}:{parsed.port or 5432} refused us: {result.stderr.strip()}"
        )
    return result.stdout.strip()


def ensure_database(url: str) -> None:
    """Creates the database named in the URL when the server answers but the database is missing."""
    name = database_name(url)
    if not find_binary("psql"):
        return  # Django reports a missing database plainly on migrate
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (name checked above)
    if psql(url, query, database="postgres") != "1":
        psql(url, f'CREATE DATABASE "{name}"', database="postgres")
        print(f"Created database {name}.")


def is_superuser(url: str) -> bool:
    return psql(url, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user", database="postgres") == "t"


def _with_role(url: str, user: str, password: str) -> str:
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password)}@{host}" + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


# Run as a superuser on the platform's database: the two roles, then every object in the database
# (schemas, tables, sequences, functions: a database migrated as the superuser before) to the owner.
ROLES_SQL = r"""
DO $$ BEGIN CREATE ROLE {owner}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE {app}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER ROLE {owner} WITH LOGIN NOSUPERUSER {createdb} NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD {owner_password};
ALTER ROLE {app} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD {app_password};
ALTER DATABASE {database} OWNER TO {owner};
GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {app};
DO $$
DECLARE
    owner_oid oid := {owner_name}::regrole;
    item record;
BEGIN
    FOR item IN
        SELECT n.nspname FROM pg_namespace n
         WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
           AND n.nspowner <> owner_oid AND n.nspowner IS DISTINCT FROM to_regrole('pg_database_owner')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO {owner}', item.nspname);
    END LOOP;
    -- Tables first: their owned sequences follow them; the sequences left are changed next.
    FOR item IN
        SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> owner_oid
           AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
         ORDER BY c.relkind = 'S'
    LOOP
        IF (SELECT relowner FROM pg_class WHERE oid = item.name) <> owner_oid THEN
            EXECUTE format('ALTER TABLE %s OWNER TO {owner}', item.name);
        END IF;
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE p.proowner <> owner_oid
           AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {owner}', item.name);
    END LOOP;
END
$$;
"""


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _kept_passwords() -> dict[str, str]:
    """Role passwords of the last set-up (.run/services.env), so a second run does not change them."""
    kept: dict[str, str] = {}
    path = RUN / "services.env"
    if path.exists():
        for line in path.read_text().splitlines():
            _, _, url = line.partition("=")
            parsed = urlparse(url)
            if parsed.username and parsed.password:
                kept[unquote(parsed.username)] = unquote(parsed.password)
    return kept


def bootstrap_roles(
    url: str,
    *,
    owner: str = "",
    app: str = "",
    passwords: dict[str, str] | None = None,
    createdb: bool = True,
) -> tuple[str, str]:
    """With a superuser URL: creates the database, its owner and app roles; returns (app URL, owner URL).

    Idempotent. The roles are `<database>_owner` and `<database>_app` unless named; a role's password
    is taken from `passwords` (by role name) or made. `createdb`: the owner may create databases, as
    the test suite needs (it makes its test database as the owner).
    """
    ensure_database(url)
    name = database_name(url)
    owner, app = owner or f"{name}_owner", app or f"{name}_app"
    passwords = passwords or {}
    owner_password = passwords.get(owner) or secrets.token_hex(16)
    app_password = passwords.get(app) or secrets.token_hex(16)
    psql(
        url,
        ROLES_SQL.format(
            owner=_identifier(owner),
            owner_name=_literal(owner),
            createdb="CREATEDB" if createdb else "NOCREATEDB",
            app=_identifier(app),
            database=_identifier(name),
            owner_password=_literal(owner_password),
            app_password=_literal(app_password),
        ),
    )
    # The test suite's database (tests/conftest.py) is the owner's too, even one left by an older run.
    test_name = f"test_{name}"
    query = f"SELECT 1 FROM pg_database WHERE datname = {_literal(test_name)}"  # noqa: S608 (name checked)
    if psql(url, query, database="postgres") == "1":
        adopt = f"ALTER DATABASE {_identifier(test_name)} OWNER TO {_identifier(owner)}"
        psql(url, adopt, database="postgres")
    return _with_role(url, app, app_password), _with_role(url, owner, owner_password)


def database_roles(database_url: str, migration_url: str | None) -> tuple[str, str]:
    """(app URL, owner URL) from DATABASE_URL and MIGRATION_DATABASE_URL, set up (see the top)."""
    if migration_url:
        check_url("MIGRATION_DATABASE_URL", migration_url, 5432)
        if database_name(migration_url) != database_name(database_url):
            raise SetupError("MIGRATION_DATABASE_URL and DATABASE_URL must name the same database.")
    if not find_binary("psql") and migration_url:
        return database_url, migration_url
    if is_superuser(database_url):
        if migration_url:
            raise SetupError(
                "DATABASE_URL names a superuser and MIGRATION_DATABASE_URL is set: either unset "
                "MIGRATION_DATABASE_URL (the set-up then creates the owner and app roles) or point "
                "DATABASE_URL at the app role."
            )
        return bootstrap_roles(database_url, passwords=_kept_passwords())
    if not migration_url:
        user = unquote(urlparse(database_url).username or "postgres")
        raise SetupError(
            f"DATABASE_URL connects as {user!r}, not a superuser, so it is taken as the app role: set "
            'MIGRATION_DATABASE_URL to the owner role too (docs/operations.md, "Database roles").'
        )
    ensure_database(migration_url)
    return database_url, migration_url


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
    app_url, migration_url = database_roles(database_url, configured("MIGRATION_DATABASE_URL"))

    redis_url = configured("REDIS_URL")
    if redis_url:
        check_url("REDIS_URL", redis_url, 6379)
    elif answers("127.0.0.1", 6379):
        redis_url = DEFAULT_REDIS_URL
    else:
        redis_url = start_private_redis()

    RUN.mkdir(exist_ok=True)
    pooler = ""
    if os.environ.get("PGBOUNCER", "").lower() in ("1", "true", "yes"):
        app_url = start_private_pgbouncer(app_url, migration_url)
        pooler = "DATABASE_POOLER=pgbouncer\n"
    env_file = RUN / "services.env"
    env_file.write_text(
        f"DATABASE_URL={app_url}\nMIGRATION_DATABASE_URL={migration_url}\nREDIS_URL={redis_url}\n{pooler}"
    )
    env_file.chmod(0o600)  # role passwords
    print(f"PostgreSQL: {_without_password(app_url)} (app role)")
    print(f"            {_without_password(migration_url)} (owner role, migrations)")
    print(f"Redis:      {redis_url}")
    check_system_tools()


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if not parsed.password:
        return url
    return urlunparse(parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")))


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
    for pidfile in (RUN / "redis.pid", RUN / "pgbouncer" / "pgbouncer.pid"):
        if pidfile.exists():
            subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def roles() -> None:
    """`services.py roles`: creates (or updates) the app role DATABASE_URL names and the owner role
    MIGRATION_DATABASE_URL names, with their passwords, as the superuser BOOTSTRAP_DATABASE_URL names
    (docker-compose.yml's `migrate` service)."""
    urls = {
        name: configured(name)
        for name in ("BOOTSTRAP_DATABASE_URL", "DATABASE_URL", "MIGRATION_DATABASE_URL")
    }
    missing = [name for name, url in urls.items() if not url]
    if missing:
        raise SetupError(f"`services.py roles` needs {', '.join(missing)}.")
    bootstrap, app_url, owner_url = (str(url) for url in urls.values())
    if not database_name(bootstrap) == database_name(app_url) == database_name(owner_url):
        raise SetupError(
            "BOOTSTRAP_DATABASE_URL, DATABASE_URL and MIGRATION_DATABASE_URL must name one database."
        )
    app, owner = urlparse(app_url), urlparse(owner_url)
    passwords = {unquote(url.username or ""): unquote(url.password or "") for url in (app, owner)}
    if not all(passwords.values()):
        raise SetupError("DATABASE_URL and MIGRATION_DATABASE_URL must carry the roles' passwords.")
    bootstrap_roles(
        bootstrap,
        owner=unquote(owner.username or ""),
        app=unquote(app.username or ""),
        passwords=passwords,
        createdb=False,
    )
    print(f"Roles {owner.username} (owner) and {app.username} (app) are in place.")


def main(argv: list[str]) -> int:
    commands = {"stop": down, "roles": roles}
    try:
        commands.get(argv[1] if len(argv) > 1 else "", up)()
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
