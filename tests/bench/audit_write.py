"""Benchmark: cost of auditing on the write path (not part of the pytest run).

    .venv/bin/python -m tests.bench audit_write [--users 300 --rounds 5]

Creates users through `accounts.services.user_create` in a throwaway tenant of the bench database,
inside a request context (so actor/IP/UA/request id are resolved as in production), in three modes
interleaved round by round:
  off       auditing disabled (auditlog's own switch): the baseline
  on        auditing as shipped: diff, entry, HMAC chain and head move in one statement
  no-chain  auditing with the chain stubbed out (a plain INSERT of the entry, no head, no HMAC):
            `on - no-chain` is the chain's own cost
Each round prints its figures, the ratio on / off and the load average; then the medians.
Passwords use the cheap Argon2 parameters of the test suite by default, so the figure isolates the
database and audit work; `--real-hasher` uses the production hasher instead.

Profile (not committed output):
    .venv/bin/python -m cProfile -s cumtime -m tests.bench.audit_write --users 300 --rounds 1 | head -60
"""

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from .common import machine, recreate_bench_database, setup_django

setup_django()  # the bench database, as the owner role (tests/bench/common.py)

from auditlog.context import disable_auditlog  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.services import user_create  # noqa: E402
from audit import services as audit_services  # noqa: E402
from audit.context import request_context  # noqa: E402
from audit.models import AuditEntry  # noqa: E402
from audit.selectors import chain_verify  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create, tenant_delete  # noqa: E402

_plain_seq = iter(range(1_000_000_000, 2_000_000_000))


def _plain_write(entries: list[AuditEntry], *, schema: str) -> None:
    for entry in entries:
        entry.seq, entry.prev_hash, entry.chain_hash = next(_plain_seq), "0" * 64, "0" * 64
        entry.timestamp = timezone.now()
        entry.save(force_insert=True)


@contextmanager
def _no_chain() -> Iterator[None]:
    """Audit entries without the chain: one plain INSERT each, no head row, no HMAC."""
    saved = audit_services._chain_write
    audit_services._chain_write = _plain_write  # type: ignore[assignment]
    try:
        yield
    finally:
        audit_services._chain_write = saved


MODES: dict[str, Callable[[], object]] = {
    "off": disable_auditlog,
    "on": contextmanager(lambda: iter([None])),
    "no-chain": _no_chain,
}


def _create_users(count: int, mode: str, request: object, *, atomic: bool) -> float:
    started = time.perf_counter()
    with MODES[mode](), request_context(request):  # type: ignore[attr-defined, arg-type]
        for _ in range(count):
            with transaction.atomic() if atomic else nullcontext():
                user_create(
                    email=f"{uuid.uuid4().hex[:12]}@bench.test", password="bench-password-1", validate=False
                )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300, help="users per mode per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--real-hasher", action="store_true")
    parser.add_argument(
        "--autocommit",
        action="store_true",
        help="no transaction around each create: the entry then commits on its own (a second commit)",
    )
    args = parser.parse_args()
    recreate_bench_database()

    hashers = settings.PASSWORD_HASHERS if args.real_hasher else ["tests.hashers.FastArgon2PasswordHasher"]
    slug = f"bench{uuid.uuid4().hex[:8]}"
    tenant = tenant_create(slug=slug, name="Bench", owner_email="owner@bench.test", owner_password="x" * 16)
    request = RequestFactory().post("/api/v1/users/", HTTP_USER_AGENT="bench/1.0", REMOTE_ADDR="127.0.0.1")
    request.user, request.tenant, request.request_id = None, tenant, "bench"  # type: ignore[attr-defined]
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    print(f"machine: {machine()}; users per mode per round: {args.users}; hasher: {hashers[0]}")
    print(
        "each create in "
        + ("autocommit (row and entry commit apart)" if args.autocommit else "its own transaction")
    )
    try:
        with override_settings(PASSWORD_HASHERS=hashers), schema_context(tenant.schema_name):
            # warm-up: caches, connections, prepared plans
            _create_users(20, "on", request, atomic=not args.autocommit)
            for number in range(1, args.rounds + 1):
                for mode in MODES:
                    seconds = _create_users(args.users, mode, request, atomic=not args.autocommit)
                    rates[mode].append(args.users / seconds)
                print(
                    f"  round {number}: "
                    + "  ".join(f"{mode} {rates[mode][-1]:7.1f}/s" for mode in MODES)
                    + f"  on/off {rates['on'][-1] / rates['off'][-1]:.2f}"
                    + f"  load {_load()}",
                    flush=True,
                )
            entries = AuditEntry.objects.count()
            report = chain_verify()
    finally:
        connection.set_schema_to_public()
        tenant_delete(tenant=tenant, purge=True)
        Tenant.objects.filter(pk=tenant.pk).delete()

    ratios = [on / off for on, off in zip(rates["on"], rates["off"], strict=True)]
    median = {mode: statistics.median(values) for mode, values in rates.items()}
    print(f"audit entries written: {entries} (the no-chain ones do not verify: {report.problem or 'ok'})")
    for mode in MODES:
        print(f"  {mode:9s} median {median[mode]:8.1f} users/s  ({1000 / median[mode]:.2f} ms per user)")
    print(
        f"  audited / unaudited per round: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" median {statistics.median(ratios):.2f} (aim >= 0.7)  load {_load()}"
    )
    print(f"  audited without chain / off (median): {median['no-chain'] / median['off']:.2f}")
    print(f"  chain cost per entry: {1000 / median['on'] - 1000 / median['no-chain']:.3f} ms")


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
