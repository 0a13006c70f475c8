"""`python -m tests.bench [NAME [ARGS...]]`: run one benchmark with its arguments, or all of them."""

import importlib
import sys

BENCHMARKS = ["tenant_creation", "routing"]


def main() -> None:
    args = sys.argv[1:]
    runs = [(args[0], args[1:])] if args else [(name, []) for name in BENCHMARKS]
    for name, extra in runs:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").main(extra)


if __name__ == "__main__":
    main()
