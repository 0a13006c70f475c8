"""Properties of the tenant-slug check: it never raises, accepts exactly the contract's regex minus
the reserved names, and every schema name it leads to is a plain, prefixed PostgreSQL identifier."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenants.slugs import RESERVED_SLUGS, is_valid_slug, schema_name_for

CONTRACT = re.compile(r"[a-z][a-z0-9-]{1,30}")  # `^...$` of the contract, without `$`'s newline
SCHEMA = re.compile(r"^t_[a-z][a-z0-9_]*$")
PROPERTY = settings(database=None, max_examples=500)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=40),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
# Near misses: the slug alphabet plus what most often breaks slug checks.
slug_like = st.text(alphabet="abcxyz019-_AZ.\n /\\'\"é\x00", min_size=0, max_size=34)
valid = st.from_regex(CONTRACT, fullmatch=True)


@PROPERTY
@given(anything)
def test_is_valid_slug_never_raises(value):
    assert is_valid_slug(value) in (True, False)


@PROPERTY
@given(st.one_of(slug_like, valid, st.sampled_from(sorted(RESERVED_SLUGS)), st.text(max_size=40)))
def test_accepts_exactly_the_regex_minus_the_reserved_names(value):
    expected = CONTRACT.fullmatch(value) is not None and value not in RESERVED_SLUGS
    assert is_valid_slug(value) is expected


@PROPERTY
@given(st.one_of(valid, slug_like))
def test_schema_names_are_plain_prefixed_identifiers(value):
    if is_valid_slug(value):
        name = schema_name_for(value)
        assert SCHEMA.match(name)
        assert len(name) <= 63  # PostgreSQL's identifier limit
    else:
        with pytest.raises(ValueError, match="invalid tenant slug"):
            schema_name_for(value)


@PROPERTY
@given(valid, valid)
def test_distinct_slugs_never_share_a_schema(one, other):
    if one != other and is_valid_slug(one) and is_valid_slug(other):
        assert schema_name_for(one) != schema_name_for(other)
