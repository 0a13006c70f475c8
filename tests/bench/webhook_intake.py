"""Single-event intake: signed `POST /api/v1/webhooks/user-service/` (the platform as deployed)
against the bare Django project's INSERT of the body into a plain jsonb table plus one LPUSH,
both under gunicorn.conf.py with 4 sync workers, wrk -t2 -c32, alternating rounds in one run. Each
round also measures the contract's floor in the bare project (`intake_floor`: the signature, one
counted delivery, the INSERT and the kick; tests/bench/bare/views.py).

    python -m tests.bench webhook_intake [--seconds 10] [--rounds 5] [--workers 4]
"""

from .baseline import Comparison, bare_schema_create, bare_schema_drop, http_parser, platform_env, servers
from .webhook_common import compact, prepare, user_event, write_request_files, wrk_post

THREADS, CONNECTIONS = 2, 32
INTAKE = "/api/v1/webhooks/user-service/"


def main(argv: list[str] | None = None) -> None:
    args = http_parser().parse_args(argv)

    secret = prepare()
    bare_schema_create()
    per_thread = 1500 * args.seconds + 2000  # more unique events than a round sends: no duplicates

    def request_files() -> str:
        return write_request_files(
            [[compact(user_event(n)) for n in range(per_thread)] for _ in range(THREADS)], secret
        )

    warm, rounds = request_files(), [request_files() for _ in range(args.rounds)]
    run = {"seconds": args.seconds, "connections": CONNECTIONS, "threads": THREADS}
    comparison = Comparison(
        "signed single-event intake vs bare INSERT + LPUSH",
        "bare INSERT + LPUSH",
        "POST /api/v1/webhooks/user-service/",
        goal=0.8,
        floor_name="floor: signature, count, INSERT, kick",
    )
    floors = [request_files() for _ in range(args.rounds)]  # the same events again would be refused
    try:
        with servers(
            workers=args.workers, platform=platform_env(), bare={"BENCH_WEBHOOK_SECRET": secret}
        ) as (bare, platform):
            for url, path in ((bare, "/insert"), (platform, INTAKE), (bare, "/floor/intake")):
                wrk_post(url, path, warm, seconds=2, connections=CONNECTIONS, threads=THREADS)
            comparison.run(
                args.rounds,
                lambda n: wrk_post(bare, "/insert", rounds[n], **run),
                lambda n: wrk_post(platform, INTAKE, rounds[n], **run),
                lambda n: wrk_post(bare, "/floor/intake", floors[n], **run),
            )
    finally:
        bare_schema_drop()
    comparison.report(workers=args.workers, threads=THREADS, connections=CONNECTIONS, seconds=args.seconds)
    print("  (goal also: platform p99 <= 1.5x bare p99)")


if __name__ == "__main__":
    main()
