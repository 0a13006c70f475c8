"""saas.validators: the host name rule (custom domains, SSO allowed domains) and the JSON walker
(API bodies, webhook intake)."""

import pytest

from saas.validators import is_hostname, json_problem


@pytest.mark.parametrize("name", ["example.com", "a.b.example.co", "xn--bcher-kva.example", "a-1.io"])
def test_hostnames(name):
    assert is_hostname(name)


@pytest.mark.parametrize(
    "name",
    ["", "localhost", "Example.com", "-a.com", "a-.com", "1.2.3.4", "a..com", "a.com.", "a" * 64 + ".com"],
)
def test_not_hostnames(name):
    assert not is_hostname(name)


def _nested(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = {"n": [value]} if levels % 2 else [value]
    return value


def test_depth_counts_objects_and_arrays():
    assert json_problem([[["x"]]], max_depth=3) is None
    assert json_problem([[[["x"]]]], max_depth=3) == "JSON nested deeper than 3 levels."
    assert json_problem({"a": {"b": 1}}, max_depth=2) is None
    assert json_problem("x", max_depth=1) is None
    assert json_problem(_nested(100_000), max_depth=32) is not None  # no recursion


@pytest.mark.parametrize("doc", ["a\x00", {"k\x00": 1}, {"k": ["ok", "b\x00"]}, [{"k": {"j": "\x00"}}]])
def test_nul_anywhere_is_refused(doc):
    assert json_problem(doc, max_depth=32) == "JSON must not contain NUL characters."
