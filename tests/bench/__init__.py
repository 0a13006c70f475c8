"""Benchmarks: run with `make bench` (all) or `python -m tests.bench NAME [ARGS]`; never part of
`make test` (no test_*.py here). Each prints its figures as ratios against a baseline measured in
the same run, on its own database (`saas_bench`), never on the development data.
"""
