"""`GET /api/v1/auth/me` with the owner's access token, routed by `X-Tenant-ID` (the platform as
deployed) against the bare Django project's JSON hello, under gunicorn.conf.py with 4 sync workers,
wrk -t2 -c32, alternating rounds in one run. Each round also measures the contract's floor in the
bare project (`me_floor`: the token's signature, the user row with its revocation check, one counted
request; tests/bench/bare/views.py), which shows how much of the goal the contract itself spends.

    python -m tests.bench auth_me [--seconds 10] [--rounds 5] [--workers 4]
"""

from .baseline import Comparison, http_parser, platform_env, servers
from .common import recreate_bench_database, setup_django, wrk

THREADS, CONNECTIONS = 2, 32
SLUG = "bench"


def owner_token() -> str:
    """The bench tenant's owner token (an hour long: the run must not see it expire)."""
    from datetime import timedelta

    from django_tenants.utils import schema_context
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Role, User
    from accounts.tokens import token_pair
    from tenants.services import tenant_create

    tenant = tenant_create(
        slug=SLUG,
        name="Bench",
        owner_email="o@bench.test",
        owner_password="bench-owner-pass-1",
        rate_limit_per_minute=10_000_000,  # the limiter still counts every request
    )
    with schema_context(tenant.schema_name):
        owner = User.objects.get(role=Role.OWNER)
        access = AccessToken(str(token_pair(user=owner, tenant=tenant)["access"]))
    access.set_exp(lifetime=timedelta(hours=1))
    return str(access)


def jwt_key() -> dict[str, str]:
    """The bare project's environment for its floors: the platform's token signing key."""
    from django.conf import settings

    return {"BENCH_JWT_KEY": str(settings.SIMPLE_JWT["SIGNING_KEY"])}


def main(argv: list[str] | None = None) -> None:
    args = http_parser().parse_args(argv)

    recreate_bench_database()
    setup_django()
    token = owner_token()
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": SLUG}
    run = {"seconds": args.seconds, "connections": CONNECTIONS, "threads": THREADS}
    comparison = Comparison(
        "GET /api/v1/auth/me vs bare JSON hello",
        "bare JSON hello",
        "GET /api/v1/auth/me",
        goal=0.4,
        floor_name="floor: token, user row, one count",
    )
    with servers(workers=args.workers, platform=platform_env(), bare=jwt_key()) as (bare, platform):
        import requests

        for url in (platform + "/api/v1/auth/me", bare + "/floor/me"):
            check = requests.get(url, headers=headers, timeout=10)
            assert check.status_code == 200, check.text[:300]
        for url in (bare + "/hello", platform + "/api/v1/auth/me", bare + "/floor/me"):
            wrk(url, headers=headers, seconds=2, connections=CONNECTIONS)
        comparison.run(
            args.rounds,
            lambda n: wrk(bare + "/hello", **run),
            lambda n: wrk(platform + "/api/v1/auth/me", headers=headers, **run),
            lambda n: wrk(bare + "/floor/me", headers=headers, **run),
        )
    comparison.report(workers=args.workers, threads=THREADS, connections=CONNECTIONS, seconds=args.seconds)


if __name__ == "__main__":
    main()
