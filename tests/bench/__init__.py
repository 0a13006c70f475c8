"""Benchmarks: run with `make bench` (all) or `python -m tests.bench NAME`; never part of `make test`.

Each prints its figures as ratios against a baseline measured in the same run.
"""
