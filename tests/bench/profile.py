"""Profile one hot path in process, through the real WSGI handler and the real middleware stack
(the settings of the HTTP benches: tests/bench/platform_settings.py), with cProfile.

    python -m tests.bench.profile auth_me|intake|users [--requests 2000] [--sort cumulative|tottime]
        [--lines 40] [--out profile.pstats]

It makes a fresh bench database (tests/bench/common.py) with the tenant `bench`, warms the path up
(routing cache, connections), then profiles N requests and prints the top functions, plus the mean
time per request. `--out` keeps the raw stats for `python -m pstats` or snakeviz.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

from .baseline import platform_env
from .common import load_average, recreate_bench_database

SLUG = "bench"


def _environ(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json" if body else "",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _requests(path: str) -> Callable[[int], dict[str, Any]]:
    """A factory of WSGI environs for request n of the chosen path."""
    from .auth_me import owner_token

    if path == "intake":
        from django_tenants.utils import schema_context

        from integrations.services import integration_settings_ensure
        from tenants.services import tenant_create

        from .webhook_common import compact, signed_line, user_event

        tenant = tenant_create(
            slug=SLUG,
            name="Bench",
            owner_email="o@bench.test",
            owner_password="bench-owner-pass-1",
            rate_limit_per_minute=10_000_000,
        )
        with schema_context(tenant.schema_name):
            secret = integration_settings_ensure(service="user-service").signing_secret

        def intake(n: int) -> dict[str, Any]:
            msg_id, ts, sig, host, body = signed_line(secret, compact(user_event(n))).split("\t")
            headers = {"Host": host, "webhook-id": msg_id, "webhook-timestamp": ts}
            headers["webhook-signature"] = sig
            return _environ("POST", "/api/v1/webhooks/user-service/", headers, body.encode())

        return intake

    headers = {"Authorization": f"Bearer {owner_token()}", "X-Tenant-ID": SLUG}
    if path == "users":
        from .users_list import PATH, fill

        fill(10_000)
        return lambda n: _environ("GET", PATH, headers)
    return lambda n: _environ("GET", "/api/v1/auth/me", headers)


PATHS = ("auth_me", "intake", "users")


class WarmPath:
    """A fresh bench database, the platform's WSGI application on it, and one hot path's requests,
    warmed up (routing cache, connections, imports): `send(environ)` serves one, counting statuses."""

    def __init__(self, path: str) -> None:
        recreate_bench_database()
        os.environ.update(platform_env())
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()
        self.make = _requests(path)
        self.statuses: dict[str, int] = {}
        for n in range(200):
            self.send(self.make(-1 - n))
        self.statuses.clear()

    def _start_response(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def send(self, environ: dict[str, Any]) -> None:
        result = self.application(environ, self._start_response)
        b"".join(result)
        result.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--out", help="also write the raw pstats here")
    args = parser.parse_args(argv)

    warm = WarmPath(args.path)
    make, send, statuses = warm.make, warm.send, warm.statuses
    environs = [make(n) for n in range(args.requests, 2 * args.requests)]
    started, cpu = time.perf_counter(), time.process_time()
    for environ in environs:  # the same requests without the profiler's overhead, for scale
        send(environ)
    plain = (time.perf_counter() - started) / args.requests * 1000
    cpu = (time.process_time() - cpu) / args.requests * 1000
    environs = [make(n) for n in range(args.requests)]  # built outside the profile
    statuses.clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for environ in environs:
        send(environ)
    profiler.disable()
    elapsed = time.perf_counter() - started
    each = elapsed / args.requests * 1000
    print(
        f"{args.path}: {plain:.3f} ms per request ({cpu:.3f} ms CPU in this process, the rest waits on"
        f" PostgreSQL and Redis); {each:.3f} ms under cProfile; {args.requests} requests each;"
        f" {load_average()}"
    )
    print(f"statuses: {statuses}")
    stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.lines)
    if args.out:
        stats.dump_stats(args.out)


if __name__ == "__main__":
    main()
