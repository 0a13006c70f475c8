"""Benchmark: cost of auditing on the write path (not part of the pytest run).

    make bench                      # or: .venv/bin/python -m tests.bench audit_write [--users 300 --rounds 3]

Creates users through `accounts.services.user_create` in a throwaway tenant of the development
database, inside a request context (so actor/IP/UA/request id are resolved as in production),
in three modes interleaved round by round:
  off       auditing disabled (auditlog's own switch): the baseline
  on        auditing as shipped: diff, entry, per-schema lock, HMAC chain, head update
  no-chain  auditing with the chain stubbed out (no head lock/update, no HMAC): `on - no-chain`
            is the chain's own cost
Passwords use the cheap Argon2 parameters of the test suite by default, so the figure isolates the
database and audit work; `--real-hasher` uses the production hasher instead.
"""

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")

import django

django.setup()

from auditlog.context import disable_auditlog  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.services import user_create  # noqa: E402
from audit import services as audit_services  # noqa: E402
from audit.context import request_context  # noqa: E402
from audit.models import AuditEntry  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create, tenant_delete  # noqa: E402


@contextmanager
def _no_chain() -> Iterator[None]:
    """Audit entries without the chain: seq from a plain sequence, no head row, no HMAC."""
    saved = (audit_services._LOCK_HEAD_SQL, audit_services._MOVE_HEAD_SQL, audit_services.chain.digest)
    audit_services._LOCK_HEAD_SQL = "SELECT nextval('bench_seq'), %s"
    audit_services._MOVE_HEAD_SQL = "SELECT %s, %s"
    audit_services.chain.digest = lambda key, values: "0" * 64  # type: ignore[assignment]
    try:
        yield
    finally:
        audit_services._LOCK_HEAD_SQL, audit_services._MOVE_HEAD_SQL, audit_services.chain.digest = saved


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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real-hasher", action="store_true")
    parser.add_argument(
        "--autocommit",
        action="store_true",
        help="no transaction around each create: the entry then commits on its own (a second commit)",
    )
    args = parser.parse_args()

    hashers = settings.PASSWORD_HASHERS if args.real_hasher else ["tests.hashers.FastArgon2PasswordHasher"]
    slug = f"bench{uuid.uuid4().hex[:8]}"
    tenant = tenant_create(slug=slug, name="Bench", owner_email="owner@bench.test", owner_password="x" * 16)
    request = RequestFactory().post("/api/v1/users/", HTTP_USER_AGENT="bench/1.0", REMOTE_ADDR="127.0.0.1")
    request.user, request.tenant, request.request_id = None, tenant, "bench"  # type: ignore[attr-defined]
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        with override_settings(PASSWORD_HASHERS=hashers), schema_context(tenant.schema_name):
            with connection.cursor() as cursor:
                cursor.execute("CREATE SEQUENCE bench_seq START 1000000000")
            _create_users(
                20, "on", request, atomic=not args.autocommit
            )  # warm-up: caches, connections, prepared plans
            for _ in range(args.rounds):
                for mode in MODES:
                    seconds[mode].append(_create_users(args.users, mode, request, atomic=not args.autocommit))
            entries = AuditEntry.objects.count()
    finally:
        connection.set_schema_to_public()
        tenant_delete(tenant=tenant, purge=True)
        Tenant.objects.filter(pk=tenant.pk).delete()

    rate = {mode: args.users / statistics.median(times) for mode, times in seconds.items()}
    per_user_ms = {mode: 1000 / r for mode, r in rate.items()}
    print(f"users per mode per round: {args.users}, rounds: {args.rounds}, hasher: {hashers[0]}")
    print(
        "each create in "
        + ("autocommit (row and entry commit apart)" if args.autocommit else "its own transaction")
    )
    print(f"audit entries written: {entries}")
    for mode in MODES:
        print(f"  {mode:9s} {rate[mode]:8.1f} users/s  ({per_user_ms[mode]:.2f} ms per user)")
    print(f"  audited / unaudited:        {rate['on'] / rate['off']:.2f}")
    print(f"  audited without chain / off: {rate['no-chain'] / rate['off']:.2f}")
    print(f"  chain cost per entry:        {per_user_ms['on'] - per_user_ms['no-chain']:.3f} ms")


if __name__ == "__main__":
    main()
