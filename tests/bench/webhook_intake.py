"""Single-event intake: signed `POST /api/v1/webhooks/user-service/` at 32 connections against a bare
Django view doing one INSERT and one Redis push, on the same gunicorn in the same run.

    python -m tests.bench webhook_intake [--seconds 5] [--rounds 3] [--workers 4]
"""

import argparse
from statistics import median

from .common import Load, gunicorn, machine
from .webhook_common import bench_env, compact, prepare, user_event, write_request_files, wrk_post

THREADS, CONNECTIONS = 2, 32
INTAKE = "/api/v1/webhooks/user-service/"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5, help="per round and view")
    parser.add_argument("--rounds", type=int, default=3, help="bare and intake alternate, medians reported")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)

    secret = prepare()
    per_thread = 1500 * args.seconds + 2000  # more unique events than a round sends: no duplicates

    def request_files() -> str:
        return write_request_files(
            [[compact(user_event(n)) for n in range(per_thread)] for _ in range(THREADS)], secret
        )

    warm, rounds = request_files(), [request_files() for _ in range(args.rounds)]
    bare: list[Load] = []
    intake: list[Load] = []
    run = {"seconds": args.seconds, "connections": CONNECTIONS, "threads": THREADS}
    with gunicorn(workers=args.workers, env=bench_env()) as url:
        wrk_post(url, "/bench/bare/insert", warm, seconds=2, connections=CONNECTIONS, threads=THREADS)
        wrk_post(url, INTAKE, warm, seconds=2, connections=CONNECTIONS, threads=THREADS)
        for files in rounds:  # alternating, so a busy neighbour on the machine hits both alike
            bare.append(wrk_post(url, "/bench/bare/insert", files, **run))
            intake.append(wrk_post(url, INTAKE, files, **run))

    print(
        f"machine: {machine()}; gunicorn {args.workers} workers; wrk {THREADS} threads x {CONNECTIONS}"
        f" connections; {args.rounds} alternating rounds of {args.seconds} s, medians"
    )
    for name, loads in (("bare INSERT + LPUSH view", bare), ("signed single-event intake", intake)):
        rps, p50, p99 = (median(getattr(x, f) for x in loads) for f in ("rps", "p50_ms", "p99_ms"))
        errors = sum(x.errors for x in loads)
        print(f"  {name:28} {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  errors {errors}")
    ratios = [i.rps / b.rps for b, i in zip(bare, intake, strict=True)]
    listed = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"  ratio intake / bare per round: {listed}; median {median(ratios):.2f} (aim >= 0.8)")


if __name__ == "__main__":
    main()
