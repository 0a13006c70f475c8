"""Tenant creation: cloning the template schema vs running the migrations, at tenant 1 and tenant 500.

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=500)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)

    recreate_bench_database()
    setup_django()
    from tenants import services

    clone_first = [_create(f"clone-{i}") for i in range(args.samples)]

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

    first, late, mig = median_ms(clone_first), median_ms(clone_late), median_ms(migrate)
    print(f"machine: {machine()}")
    print(f"tenant creation, median of {args.samples}:")
    print(f"  by migrations          {mig:8.1f} ms  (baseline)")
    print(f"  by cloning, tenant 1   {first:8.1f} ms  ratio {mig / first:5.2f}x faster")
    print(f"  by cloning, tenant {args.existing} {late:8.1f} ms  ratio to tenant 1: {late / first:5.2f}")


if __name__ == "__main__":
    main()
