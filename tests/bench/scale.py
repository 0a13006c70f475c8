"""Scale: 1,000 tenants made by template copy — creation time, `migrate_schemas`, request latency.

python -m tests.bench scale [--tenants 1000] [--small 10] [--seconds 10] [--no-ddl]
python -m tests.bench scale --rounds 5     # only step 2, interleaved, on the database step 1 left
python -m tests.bench scale --steps 1000,10000 [--samples 10] [--keep]   # deploys and creation

1. Tenant creation (`tenants.services.tenant_create`, the template copy) timed one by one, from
   tenant 1 to tenant N; medians at the start, the end and every tenth of the way.
2. `GET /api/v1/auth/me` (owner's token, tenant named by Host) with wrk on a real gunicorn
   (the real settings, 4 workers) at `--small` tenants and again at N: one tenant hammered, and
   every request to a random tenant (a wrk Lua script), which is what stresses per-tenant caches.
3. `migrate_schemas --tenant` across the N tenants (+ the template) with `--executor=standard`
   and `--executor=multiprocessing`: nothing to apply (the cost of every deploy), and with a real
   migration to apply (`accounts` 0002: three tables and their indexes, unapplied beforehand).

`--steps` is the deploy and creation run (issue 15): tenants are added in bulk up to each step
(`bulk_tenants`: the template snapshot replayed in SQL by `saas_tenant_schema_create`, as creation
does, on two connections; the Tenant and Domain rows in bulk; the owner row copied from tenant 1,
Argon2 hash and all), and at each step it measures `migrate_schemas` with nothing to apply, with one
schema behind, and `--samples` real `tenant_create` calls. The bench database is dropped at the end
unless `--keep`.

The load average of the machine is printed with every phase: it is shared.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .common import ROOT, bench_env, gunicorn, machine, recreate_bench_database, setup_django, wrk

PASSWORD = "bench-owner-pass-1"
DDL_APP, DDL_BEFORE = "accounts", "0001_initial"  # unapply 0002_sso_providers, then apply it again


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def slug(i: int) -> str:
    return f"s{i:05d}"


def create(i: int) -> float:
    from tenants.services import tenant_create

    started = time.perf_counter()
    tenant_create(
        slug=slug(i),
        name=f"Scale {i}",
        owner_email=f"owner@{slug(i)}.test",
        owner_password=PASSWORD,
        rate_limit_per_minute=10_000_000,  # the bench measures latency, not the limiter
    )
    return time.perf_counter() - started


def bulk_tenants(start: int, stop: int, *, workers: int = 2) -> float:
    """Tenants `start`..`stop - 1`, the fast way (see the module docstring); returns the seconds."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    from django.conf import settings

    from tenants.models import Domain, Tenant
    from tenants.slugs import schema_name_for

    from .common import bench_database_url

    began = time.perf_counter()
    first = schema_name_for(slug(1))
    with psycopg.connect(bench_database_url(), autocommit=True) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = 'accounts_user' AND column_name <> 'id'",
                [first],
            )
        ]
    copied = ", ".join(columns)
    select = copied.replace("email", "%s")

    def make(numbers: range) -> None:
        with psycopg.connect(bench_database_url(), autocommit=True) as conn:
            for i in numbers:
                schema = schema_name_for(slug(i))
                with conn.transaction():
                    made = conn.execute("SELECT public.saas_tenant_schema_create(%s)", [schema]).fetchone()
                    if not (made and made[0]):
                        raise RuntimeError("no current template snapshot: run migrate_schemas")
                    conn.execute(
                        f"INSERT INTO {schema}.accounts_user ({copied})"  # noqa: S608 - bench names
                        f" SELECT {select} FROM {first}.accounts_user",
                        [f"owner@{slug(i)}.test"],
                    )

    for low in range(start, stop, 1000):
        high = min(stop, low + 1000)
        tenants = Tenant.objects.bulk_create(
            Tenant(
                slug=slug(i),
                name=f"Scale {i}",
                schema_name=schema_name_for(slug(i)),
                rate_limit_per_minute=10_000_000,
            )
            for i in range(low, high)
        )
        Domain.objects.bulk_create(
            Domain(domain=f"{t.slug}.{settings.SAAS_BASE_DOMAIN}", tenant=t, is_primary=True) for t in tenants
        )
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(make, [range(low + w, high, workers) for w in range(workers)]))
        print(f"  bulk: {high - 1} tenants ({time.perf_counter() - began:.0f} s, {load()})", flush=True)
    return time.perf_counter() - began


def tokens(count: int) -> list[tuple[str, str]]:
    """(Host, access token) of each tenant's owner."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User
    from accounts.tokens import token_pair
    from tenants.models import Tenant

    out = []
    for tenant in Tenant.objects.filter(slug__startswith="s").order_by("slug")[:count]:
        with schema_context(tenant.schema_name):
            owner = User.objects.get(email=f"owner@{tenant.slug}.test")
            out.append((f"{tenant.slug}.localhost", str(token_pair(user=owner, tenant=tenant)["access"])))
    connection.set_schema_to_public()
    return out


LUA = """
hosts, auth = {}, {}
function init(args)
  for line in io.lines(args[1]) do
    local host, token = line:match("^([^\\t]*)\\t(.*)$")
    hosts[#hosts + 1] = host
    auth[#auth + 1] = "Bearer " .. token
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  local i = math.random(#hosts)
  return wrk.format("GET", "/api/v1/auth/me", {["Host"] = hosts[i], ["Authorization"] = auth[i]})
end
"""


def latency(label: str, count: int, seconds: int, secret: str) -> dict[str, object]:
    pairs = tokens(count)
    env = bench_env(
        DJANGO_SETTINGS_MODULE="saas.settings.base",
        DJANGO_ENV="development",
        SECRET_KEY=secret,
        LOG_LEVEL="WARNING",
    )
    results: dict[str, object] = {"label": label, "tenants": count}
    with tempfile.TemporaryDirectory() as tmp, gunicorn(port=8771, workers=4, env=env) as url:
        script, data = Path(tmp) / "spread.lua", Path(tmp) / "tokens.tsv"
        script.write_text(LUA)
        data.write_text("".join(f"{h}\t{t}\n" for h, t in pairs))
        host, token = pairs[0]
        one_headers = {"Host": host, "Authorization": f"Bearer {token}"}
        for h, t in pairs:  # warm every worker's caches, and check every token works
            for _ in range(2):
                answer = requests.get(
                    url + "/api/v1/auth/me", headers={"Host": h, "Authorization": f"Bearer {t}"}, timeout=30
                )
                if answer.status_code != 200:
                    print(f"  warm-up {h}: {answer.status_code} {answer.text[:200]}", flush=True)
        wrk(url + "/api/v1/auth/me", headers=one_headers, seconds=3, connections=8)
        results["load_before"] = load()
        results["one"] = wrk(url + "/api/v1/auth/me", headers=one_headers, seconds=seconds, connections=8)
        results["spread"] = _wrk_script(url, script, data, seconds)
        results["load_after"] = load()
    return results


def _wrk_script(url: str, script: Path, data: Path, seconds: int) -> object:
    """wrk with a script that takes an argument (common.wrk passes none)."""
    import re

    from .common import Load, _ms

    args = ["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*args, url + "/api/v1/auth/me", "--", str(data)], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(rps=rps, p50_ms=p50, p99_ms=p99, errors=int(non2xx.group(1)) if non2xx else 0)


def migrate(executor: str, *target: str) -> float:
    command = [sys.executable, "manage.py", "migrate_schemas", "--tenant", "--noinput", "-v", "0"]
    started = time.perf_counter()
    subprocess.run([*command, f"--executor={executor}", *target], cwd=ROOT, env=bench_env(), check=True)
    return time.perf_counter() - started


def deploy(*extra: str) -> float:
    """`migrate_schemas` (public, tenants, template) as a deploy runs it, in its own process."""
    command = [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0", *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=bench_env(), check=True)
    return time.perf_counter() - started


def steps(args: argparse.Namespace) -> None:
    """Deploys and tenant creation at each step of tenants (issue 15, items 2 and 5)."""
    from .common import BENCH_DB, bench_database_url

    targets = [int(n) for n in args.steps.split(",")]
    print(f"machine: {machine()}; {load()}", flush=True)
    recreate_bench_database()
    setup_django()
    from django.db import connection

    owner = connection.settings_dict["USER"]  # `make` names the roles <db>_owner and <db>_app
    app_role = os.environ.get("BENCH_APP_ROLE") or (owner.removesuffix("_owner") + "_app")

    from tenants.slugs import schema_name_for

    # Production has two roles: every new schema grants the app role its privileges, part of the
    # creation's cost. The bench runs as the owner, so give the template the app role as grantee.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s AND rolname <> %s", [app_role, owner])
        if cursor.fetchone():
            cursor.execute("SELECT public.saas_grant_app('tenant_template', %s)", [app_role])
            print(f"new schemas grant {app_role} its privileges, as in production", flush=True)

    first = [create(i) for i in range(1, args.samples + 1)]
    print(
        f"tenant creation, tenants 1-{args.samples}: tenant 1 {first[0] * 1000:.0f} ms, "
        f"median {statistics.median(first) * 1000:.0f} ms ({load()})",
        flush=True,
    )
    made = args.samples
    extra = 0
    for target in targets:
        if target > made:
            seconds = bulk_tenants(made + 1, target + 1)
            print(f"bulk-created tenants {made + 1}-{target} in {seconds:.0f} s", flush=True)
            made = target
        connection.close()
        schemas = made + 2  # the template and public too
        before = load()
        noop = deploy()
        print(
            f"{made} tenants: migrate_schemas, nothing to apply: {noop:.1f} s = "
            f"{noop / schemas * 1000:.2f} ms per schema ({before} -> {load()})",
            flush=True,
        )
        behind = schema_name_for(slug(made))
        deploy(f"--schema={behind}", DDL_APP, "0002_sso_providers")
        before = load()
        one = deploy()
        print(
            f"{made} tenants: migrate_schemas, one schema behind: {one:.1f} s ({before} -> {load()})",
            flush=True,
        )
        times = []
        for _ in range(args.samples):
            extra += 1
            times.append(create(target + extra))
        made += args.samples
        print(
            f"{made} tenants: tenant creation, median of {args.samples}: "
            f"{statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max "
            f"{max(times) * 1000:.0f}; {load()})",
            flush=True,
        )
        connection.close()
    if not args.keep:
        from urllib.parse import urlparse, urlunparse

        import psycopg

        admin = urlunparse(urlparse(bench_database_url())._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        print(f"dropped {BENCH_DB}")


def show_load(label: str, result: dict[str, object]) -> None:
    for kind in ("one", "spread"):
        r = result[kind]
        print(
            f"  {label:>14} {kind:>6}: {r.rps:8.1f} req/s  p50 {r.p50_ms:7.1f} ms"  # type: ignore[attr-defined]
            f"  p99 {r.p99_ms:7.1f} ms  non-2xx {r.errors}"  # type: ignore[attr-defined]
        )
    print(f"  {'':>14} ({result['load_before']} -> {result['load_after']})")


def rounds(args: argparse.Namespace) -> None:
    """Spread over few tenants vs over all, alternating on one server: neighbours' load hits both."""
    setup_django()
    from django.conf import settings

    pairs = tokens(args.tenants)
    env = bench_env(
        DJANGO_SETTINGS_MODULE="saas.settings.base", DJANGO_ENV="development", SECRET_KEY=settings.SECRET_KEY
    )
    print(f"machine: {machine()}; {len(pairs)} tenants in the database; {load()}", flush=True)
    results: dict[str, list[object]] = {"few": [], "all": []}
    with tempfile.TemporaryDirectory() as tmp, gunicorn(port=8772, workers=4, env=env) as url:
        script = Path(tmp) / "spread.lua"
        script.write_text(LUA)
        files = {}
        for label, subset in (("few", pairs[: args.small]), ("all", pairs)):
            files[label] = Path(tmp) / f"{label}.tsv"
            files[label].write_text("".join(f"{h}\t{t}\n" for h, t in subset))
        for label in ("few", "all"):  # warm-up: every tenant once per worker, roughly
            _wrk_script(url, script, files[label], 5)
        for i in range(args.rounds):
            for label in ("few", "all"):
                r = _wrk_script(url, script, files[label], args.seconds)
                results[label].append(r)
                print(
                    f"  round {i + 1} {label:>3} ({args.small if label == 'few' else len(pairs)} tenants): "
                    f"{r.rps:7.1f} req/s p50 {r.p50_ms:6.1f} ms p99 {r.p99_ms:6.1f} ms "  # type: ignore[attr-defined]
                    f"non-2xx {r.errors} ({load()})",  # type: ignore[attr-defined]
                    flush=True,
                )
    few = statistics.median(r.rps for r in results["few"])  # type: ignore[attr-defined]
    every = statistics.median(r.rps for r in results["all"])  # type: ignore[attr-defined]
    print(
        f"median req/s: {args.small} tenants {few:.1f}, {len(pairs)} tenants {every:.1f}, "
        f"ratio {every / few:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-ddl", action="store_true", help="skip the pass with a real migration")
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="only: on the existing bench database, alternate this many rounds of requests spread "
        "over the first --small tenants and over all of them (same server, same moment)",
    )
    parser.add_argument("--steps", default="", help="deploys and creation at these tenant counts: 1000,10000")
    parser.add_argument("--samples", type=int, default=10, help="with --steps: real creations per step")
    parser.add_argument("--keep", action="store_true", help="with --steps: keep the bench database")
    args = parser.parse_args(argv)
    os.environ.setdefault("JWT_ACCESS_SECONDS", "7200")  # tokens outlive the whole run
    if args.steps:
        steps(args)
        return
    if args.rounds:
        rounds(args)
        return

    print(f"machine: {machine()}; {load()}", flush=True)
    started = time.perf_counter()
    recreate_bench_database()
    setup_django()
    from django.conf import settings
    from django.db import connection

    times: list[float] = []
    for i in range(1, args.small + 1):
        times.append(create(i))
    print(f"created {args.small} tenants ({load()})", flush=True)
    small = latency("small", args.small, args.seconds, settings.SECRET_KEY)
    show_load(f"{args.small} tenants", small)

    step = max(1, args.tenants // 10)
    for i in range(args.small + 1, args.tenants + 1):
        times.append(create(i))
        if i % step == 0:
            window = times[i - min(step, 20) : i]
            print(
                f"  tenant {i:5d}: median creation of the last {len(window)} "
                f"{statistics.median(window) * 1000:7.1f} ms ({load()})",
                flush=True,
            )
    connection.close()
    large = latency("large", args.tenants, args.seconds, settings.SECRET_KEY)

    print(f"\nmachine: {machine()}")
    first, last = times[: min(10, len(times))], times[-min(10, len(times)) :]
    print("tenant creation (template copy, owner with a real Argon2 hash):")
    print(
        f"  tenant 1 {times[0] * 1000:7.1f} ms; median of tenants 1-{len(first)}: "
        f"{statistics.median(first) * 1000:7.1f} ms"
    )
    print(
        f"  tenant {len(times)} {times[-1] * 1000:7.1f} ms; median of the last {len(last)}: "
        f"{statistics.median(last) * 1000:7.1f} ms; "
        f"ratio {statistics.median(last) / statistics.median(first):.2f}"
    )
    print("GET /api/v1/auth/me, wrk -t2 -c8, 4 gunicorn workers:")
    show_load(f"{args.small} tenants", small)
    show_load(f"{args.tenants} tenants", large)

    schemas = args.tenants + 1  # the template is migrated too
    print(f"migrate_schemas --tenant across {args.tenants} tenants + the template:", flush=True)
    for executor in ("standard", "multiprocessing"):
        before = load()
        seconds = migrate(executor)
        print(
            f"  nothing to apply, {executor:>15}: {seconds:7.1f} s = {seconds / schemas * 1000:6.1f} ms "
            f"per schema ({before} -> {load()})",
            flush=True,
        )
    if not args.no_ddl:
        for executor in ("standard", "multiprocessing"):
            undo = migrate("multiprocessing", DDL_APP, DDL_BEFORE)
            before = load()
            seconds = migrate(executor)
            print(
                f"  apply {DDL_APP} 0002, {executor:>15}: {seconds:7.1f} s = {seconds / schemas * 1000:6.1f} "
                f"ms per schema (unapply took {undo:.1f} s; {before} -> {load()})",
                flush=True,
            )
    print(f"whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
