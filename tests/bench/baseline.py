"""The HTTP benches against the bare Django project (tests/bench/bare/): both servers side by side,
alternating rounds in one run, and one report format for all of them.

Each bench starts the platform (`saas.wsgi`, the real settings, middleware and URLs) and the bare
project (`tests.bench.bare.wsgi`: no apps, no middleware) under the same gunicorn settings
(gunicorn.conf.py, 4 sync workers), then runs wrk against bare, platform, bare, platform... and
prints per round both figures and their ratio, then the median ratio, the medians of p50 and p99,
and the load average before and after (a busy machine makes every figure lower and noisier).
"""

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from statistics import median

from .common import Load, bench_database_url, bench_env, gunicorn, load_average, machine, wrk_check

SCHEMA = "bench_bare"
USER_COLUMNS = "id, email, first_name, last_name, role, is_active, external_id, created_at, updated_at"
PLATFORM_PORT, BARE_PORT = 8765, 8766


def http_parser(**extra: int) -> argparse.ArgumentParser:
    """The options every bare-vs-platform HTTP bench takes (and `--NAME` defaults of its own)."""
    parser = argparse.ArgumentParser()
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--seconds", type=int, default=10, help="per round and server")
    parser.add_argument("--rounds", type=int, default=5, help="bare and platform alternate")
    parser.add_argument("--workers", type=int, default=4)
    return parser


def platform_env(**extra: str) -> dict[str, str]:
    """The platform as deployed: the real settings module (tests.bench.platform_settings only points
    Redis at the bench database and serves static files unhashed)."""
    return bench_env(DJANGO_SETTINGS_MODULE="tests.bench.platform_settings", **extra)


def bare_env(**extra: str) -> dict[str, str]:
    return bench_env(DJANGO_SETTINGS_MODULE="tests.bench.bare.settings", **extra)


def bare_schema_create(*, users_from: str | None = None) -> None:
    """Schema `bench_bare` with the intake's plain table and, copied from a tenant schema's
    accounts_user, a plain users table with the same columns (no tenant, no ORM)."""
    import psycopg

    with psycopg.connect(bench_database_url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE TABLE {SCHEMA}.events (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
        if users_from is not None:
            conn.execute(
                f"CREATE TABLE {SCHEMA}.users AS SELECT {USER_COLUMNS} FROM {users_from}.accounts_user"  # noqa: S608
            )
            conn.execute(f"ALTER TABLE {SCHEMA}.users ADD PRIMARY KEY (id)")
            conn.execute(f"ANALYZE {SCHEMA}.users")


def bare_schema_drop() -> None:
    import psycopg

    with psycopg.connect(bench_database_url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


@contextmanager
def servers(
    *, workers: int = 4, platform: dict[str, str] | None = None, bare: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """(bare URL, platform URL): both gunicorns up for the whole run, the idle one costs nothing.
    `bare` adds to the bare project's environment (the floors' secrets)."""
    wrk_check()
    with (
        gunicorn(
            port=BARE_PORT, workers=workers, env=bare_env(**(bare or {})), app="tests.bench.bare.wsgi"
        ) as bare_url,
        gunicorn(port=PLATFORM_PORT, workers=workers, env=platform or platform_env()) as plat,
    ):
        yield bare_url, plat


@dataclass
class Comparison:
    """Alternating rounds of one platform path against its bare baseline."""

    title: str
    bare_name: str
    platform_name: str
    goal: float | None = None
    floor_name: str = ""
    bare: list[Load] = field(default_factory=list)
    platform: list[Load] = field(default_factory=list)
    floor: list[Load] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    def run(
        self,
        rounds: int,
        bare: Callable[[int], Load],
        platform: Callable[[int], Load],
        floor: Callable[[int], Load] | None = None,
    ) -> None:
        """Calls bare(n), platform(n) (and floor(n), the contract's floor, tests/bench/bare/views.py)
        for n in range(rounds), alternating."""
        self.loads.append(load_average())
        for n in range(rounds):
            self.bare.append(bare(n))
            self.platform.append(platform(n))
            if floor is not None:
                self.floor.append(floor(n))
            self.loads.append(load_average())

    def ratios(self) -> list[float]:
        return [p.rps / b.rps for b, p in zip(self.bare, self.platform, strict=True)]

    def report(self, *, workers: int, threads: int, connections: int, seconds: int) -> None:
        print(f"\n{self.title}")
        print(
            f"machine: {machine()}; gunicorn -c gunicorn.conf.py, {workers} sync workers, both servers;"
            f" wrk -t{threads} -c{connections}, {seconds} s per round and server"
        )
        print(f"  before: {self.loads[0]}")
        for n, (b, p) in enumerate(zip(self.bare, self.platform, strict=True), 1):
            print(
                f"  round {n}: bare {b.rps:7.0f} req/s (p50 {b.p50_ms:6.2f} p99 {b.p99_ms:7.2f} ms)"
                f"  platform {p.rps:7.0f} req/s (p50 {p.p50_ms:6.2f} p99 {p.p99_ms:7.2f} ms)"
                f"  ratio {p.rps / b.rps:.2f}  errors {b.errors}/{p.errors}  [{self.loads[n]}]"
            )
            if self.floor:
                f = self.floor[n - 1]
                print(
                    f"           floor {f.rps:7.0f} req/s (p50 {f.p50_ms:6.2f} p99 {f.p99_ms:7.2f} ms)"
                    f"  floor / bare {f.rps / b.rps:.2f}  platform / floor {p.rps / f.rps:.2f}"
                    f"  errors {f.errors}"
                )
        named = [(self.bare_name, self.bare), (self.platform_name, self.platform)]
        if self.floor:
            named.append((self.floor_name, self.floor))
        for name, loads in named:
            rps, p50, p99 = (median(getattr(x, f) for x in loads) for f in ("rps", "p50_ms", "p99_ms"))
            print(f"  {name:40} median {rps:7.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms")
        ratio = median(self.ratios())
        goal = f" (goal >= {self.goal})" if self.goal is not None else ""
        p99_ratio = median(p.p99_ms for p in self.platform) / median(b.p99_ms for b in self.bare)
        print(f"  median ratio platform / bare: {ratio:.2f}{goal}; p99 platform / bare: {p99_ratio:.2f}")
        if self.floor:
            pairs = list(zip(self.bare, self.platform, self.floor, strict=True))
            floor_bare = median(f.rps / b.rps for b, _, f in pairs)
            platform_floor = median(p.rps / f.rps for _, p, f in pairs)
            print(
                f"  the contract's floor: floor / bare {floor_bare:.2f} (the most any implementation on"
                f" Django reaches), platform / floor {platform_floor:.2f} (the platform's own cost)"
            )
