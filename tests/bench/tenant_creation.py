"""Tenant creation: copying the template schema vs running the migrations, at tenant 1 and tenant 500.

Also times django-tenants' own `clone_schema()` on the same template at both points, for the
record (it is not used: it slows down as schemas accumulate and renames unique constraints).

python -m tests.bench tenant_creation [--existing 500] [--samples 20]
"""

import argparse
import time

from .common import machine, median_ms, recreate_bench_database, setup_django


def _create(slug: str) -> float:
    from tenants.services import tenant_create

    started = time.perf_counter()
    tenant_create(slug=slug, name=slug, owner_email=f"owner@{slug}.test", owner_password="bench-owner-pass-1")
    return time.perf_counter() - started


def _clone_schema(name: str) -> float:
    """django-tenants' clone_schema() alone (function installed beforehand), rolled back."""
    from django.db import connection, transaction
    from django_tenants.clone import CloneSchema

    CloneSchema()._create_clone_schema_function()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT public.clone_schema('tenant_template', %s, 'DATA')", [name])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=500)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)

    recreate_bench_database()
    setup_django()
    from tenants import services

    clone_first = [_create(f"clone-{i}") for i in range(args.samples)]
    pg_clone_first = [_clone_schema(f"pgclone_{i}") for i in range(5)]

    real_check = services._template_is_current
    services._template_is_current = lambda: False  # type: ignore[assignment]
    services._template_is_current.cache_clear = lambda: None  # type: ignore[attr-defined]
    migrate = [_create(f"migrate-{i}") for i in range(args.samples)]
    services._template_is_current = real_check

    from tenants.models import Tenant

    filler = 0
    while Tenant.objects.count() < args.existing:
        _create(f"fill-{filler}")
        filler += 1
    clone_late = [_create(f"late-{i}") for i in range(args.samples)]
    pg_clone_late = [_clone_schema(f"pgclone_{i}") for i in range(5)]

    first, late, mig = median_ms(clone_first), median_ms(clone_late), median_ms(migrate)
    print(f"machine: {machine()}")
    print(f"tenant creation, median of {args.samples}:")
    print(f"  by migrations          {mig:8.1f} ms  (baseline)")
    print(f"  by template copy, tenant 1   {first:8.1f} ms  ratio {mig / first:5.2f}x faster")
    print(
        f"  by template copy, tenant {args.existing} {late:8.1f} ms  ratio to tenant 1: {late / first:5.2f}"
    )
    pg_first, pg_late = median_ms(pg_clone_first), median_ms(pg_clone_late)
    print(f"  for the record, django-tenants clone_schema() alone (median of 5): {pg_first:.1f} ms at")
    print(f"  tenant 1, {pg_late:.1f} ms at tenant {args.existing} (ratio {pg_late / pg_first:.2f})")


if __name__ == "__main__":
    main()
