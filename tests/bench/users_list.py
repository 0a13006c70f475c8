"""`GET /api/v1/users/?page_size=50` on a tenant with 10,000 users (owner token, `X-Tenant-ID`; the
platform as deployed) against the bare Django project's count + page of 50 rows from a plain table
with accounts_user's columns and the same rows, under gunicorn.conf.py with 4 sync workers,
wrk -t2 -c32, alternating rounds in one run. Each round also measures the contract's floor in the
bare project (`users_floor`: the token checks of `me_floor`, then the same count + page). Also
prints the SQL one users request runs.

    python -m tests.bench users_list [--users 10000] [--seconds 10] [--rounds 5] [--workers 4]
"""

from .auth_me import SLUG, jwt_key, owner_token
from .baseline import Comparison, bare_schema_create, bare_schema_drop, http_parser, platform_env, servers
from .common import recreate_bench_database, setup_django, wrk

THREADS, CONNECTIONS = 2, 32
PATH = "/api/v1/users/?page_size=50"
BARE_PATH = "/users?page_size=50"
FLOOR_PATH = "/floor/users?page_size=50"


def fill(users: int) -> str:
    """Tops the bench tenant up to `users` users (owner included); returns its schema name."""
    from django.contrib.auth.hashers import make_password
    from django_tenants.utils import schema_context

    from accounts.models import Role, User
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug=SLUG)
    with schema_context(tenant.schema_name):
        hashed = make_password("bench-user-password")
        roles = [Role.MEMBER] * 8 + [Role.ADMIN]
        User.objects.bulk_create(
            (
                User(
                    email=f"user{i:06d}@bench.test",
                    first_name=f"First{i}",
                    last_name=f"Last{i}",
                    role=roles[i % len(roles)],
                    password=hashed,
                )
                for i in range(User.objects.count(), users)
            ),
            batch_size=2000,
        )
    return tenant.schema_name


def queries(token: str) -> list[str]:
    """The SQL of one users request in steady state (routing cache warm), in process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_X_TENANT_ID=SLUG, HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(PATH)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PATH)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in ctx.captured_queries]


def main(argv: list[str] | None = None) -> None:
    args = http_parser(users=10_000).parse_args(argv)

    recreate_bench_database()
    setup_django()
    token = owner_token()
    schema = fill(args.users)
    bare_schema_create(users_from=schema)
    sql = queries(token)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": SLUG}
    run = {"seconds": args.seconds, "connections": CONNECTIONS, "threads": THREADS}
    comparison = Comparison(
        f"GET {PATH} ({args.users} users) vs bare count + page",
        "bare count + page of 50",
        f"GET {PATH}",
        goal=0.7,
        floor_name="floor: token, user row, count, page",
    )
    try:
        with servers(workers=args.workers, platform=platform_env(), bare=jwt_key()) as (bare, platform):
            import requests

            check = requests.get(platform + PATH, headers=headers, timeout=10).json()
            plain = requests.get(bare + BARE_PATH, timeout=10).json()
            floor = requests.get(bare + FLOOR_PATH, headers=headers, timeout=10).json()
            assert check["count"] == plain["count"] == floor["count"] == args.users, (check, plain, floor)
            assert [u["id"] for u in check["results"]] == [u["id"] for u in plain["results"]]
            for url in (bare + BARE_PATH, platform + PATH, bare + FLOOR_PATH):
                wrk(url, headers=headers, seconds=2, connections=CONNECTIONS)
            comparison.run(
                args.rounds,
                lambda n: wrk(bare + BARE_PATH, **run),
                lambda n: wrk(platform + PATH, headers=headers, **run),
                lambda n: wrk(bare + FLOOR_PATH, headers=headers, **run),
            )
    finally:
        bare_schema_drop()
    comparison.report(workers=args.workers, threads=THREADS, connections=CONNECTIONS, seconds=args.seconds)
    print(f"  SQL per users request ({len(sql)} statements):")
    for statement in sql:
        print(f"    {statement[:160]}")


if __name__ == "__main__":
    main()
