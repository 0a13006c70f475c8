"""`python -m tests.bench [NAME [ARGS...]]`: run one benchmark with its arguments, or all of them.

Each runs in its own process on the bench database (see tests/bench/common.py).
"""

import subprocess
import sys

from .common import ROOT, bench_env, wrk_check

BENCHMARKS = [
    "tenant_creation",
    "routing",
    "auth_me",
    "users_list",
    "audit_write",
    "webhook_intake",
    "webhook_batch",
    "webhook_e2e",
    "scale",
    "idle",
]


def main() -> None:
    wrk_check()  # every HTTP bench needs it: say how to install it before any set-up
    args = sys.argv[1:]
    runs = [(args[0], args[1:])] if args else [(name, []) for name in BENCHMARKS]
    failed = 0
    for name, extra in runs:
        print(f"\n=== {name} ===", flush=True)
        command = [sys.executable, "-m", f"tests.bench.{name}", *extra]
        failed += subprocess.run(command, cwd=ROOT, env=bench_env(), check=False).returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
