"""Routing overhead, one component measured inside the platform's stack (not a bare-Django
comparison, see tests/bench/baseline.py for those): a trivial tenant-routed view against the
same view with no tenant middleware.

    python -m tests.bench routing [--seconds 10]

Same gunicorn server, same run; wrk as a second process on 127.0.0.1.
"""

import argparse

from .common import gunicorn, machine, recreate_bench_database, setup_django, wrk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)

    recreate_bench_database()
    setup_django()
    from tenants.services import tenant_create

    # A budget far above what the run sends: the limiter still counts every routed request.
    tenant_create(
        slug="bench",
        name="Bench",
        owner_email="o@bench.test",
        owner_password="bench-owner-pass-1",
        rate_limit_per_minute=100_000_000,
    )

    with gunicorn(workers=args.workers) as url:
        wrk(url + "/bench/bare/ping", seconds=2)  # warm-up: connections, caches
        wrk(url + "/bench/ping", headers={"Host": "bench.localhost"}, seconds=2)
        bare = wrk(url + "/bench/bare/ping", seconds=args.seconds)
        host = wrk(url + "/bench/ping", headers={"Host": "bench.localhost"}, seconds=args.seconds)
        header = wrk(url + "/bench/ping", headers={"X-Tenant-ID": "bench"}, seconds=args.seconds)

    print(f"machine: {machine()}; gunicorn {args.workers} workers; wrk 2 threads x 16 connections")
    print(
        f"  {'bare view (no tenant middleware)':32} {bare.rps:8.0f} req/s"
        f"  p50 {bare.p50_ms:.2f} ms  p99 {bare.p99_ms:.2f} ms"
    )
    for name, load in (("routed by host", host), ("routed by header", header)):
        print(
            f"  {name:32} {load.rps:8.0f} req/s  p50 {load.p50_ms:.2f} ms  p99 {load.p99_ms:.2f} ms"
            f"  ratio {load.rps / bare.rps:.2f}  errors {load.errors}"
        )


if __name__ == "__main__":
    main()
