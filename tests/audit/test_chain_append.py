"""The chained append: one statement per append when the connection moved the head last,
a locked re-read when someone else did, and `entries_batched` for a transaction's entries at once.

Whatever path an entry takes: every entry is chained and verifies, no two share a seq, entries of a
rolled-back transaction or savepoint never appear, and their log lines never appear either."""

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from audit.models import AuditEntry, ChainHead
from audit.selectors import chain_verify
from audit.services import entries_batched
from tests.audit.helpers import record, trail
from tests.conftest import owner_cursor


def _record(n: Any, **changes: Any) -> AuditEntry:
    return record(action="access", event="test", object_type="test", object_id=str(n), changes=changes)


def _verified(schema: str) -> int:
    with schema_context(schema):
        report = chain_verify()
    assert report.ok, report.problem
    return report.checked


class _Rollback(Exception):
    pass


def _rolled_back(*steps: Callable[[], Any], batched: bool = False) -> list[Any]:
    """Runs the steps in a transaction (or savepoint) that then rolls back; returns their results."""
    results: list[Any] = []
    with (
        contextlib.suppress(_Rollback),
        transaction.atomic(),
        entries_batched() if batched else contextlib.nullcontext(),
    ):
        results.extend(step() for step in steps)
        raise _Rollback
    return results


def _lines(caplog: Any) -> list[int]:
    return [r.seq for r in caplog.records if r.name == "audit" and r.getMessage() == "audit"]


def _seqs(tenant: Any) -> list[int]:
    return [e.seq for e in trail(tenant)]


def test_appends_from_two_connections_never_share_a_seq_and_verify(committed_db, fresh_tenant):
    """Two threads (two connections) append in autocommit, in multi-entry transactions, in batches
    and in transactions that roll back; each one's known head is stale after the other's append."""
    errors: list[BaseException] = []
    kept = [len(trail(fresh_tenant)), 0]  # the owner's creation

    def writer(n: int) -> None:
        try:
            with schema_context(fresh_tenant.schema_name):
                for i in range(30):
                    if i % 4 == 0:
                        _record(f"{n}-{i}")
                        kept[n] += 1
                    elif i % 4 == 1:
                        with transaction.atomic():
                            _record(f"{n}-{i}a")
                            _record(f"{n}-{i}b")
                        kept[n] += 2
                    elif i % 4 == 2:
                        with transaction.atomic(), entries_batched():
                            for j in range(3):
                                _record(f"{n}-{i}-{j}")
                        kept[n] += 3
                    else:
                        _rolled_back(lambda n=n, i=i: _record(f"{n}-{i}-gone"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    entries = trail(fresh_tenant)
    assert [e.seq for e in entries] == list(range(1, sum(kept) + 1))
    assert not [e for e in entries if e.object_pk.endswith("gone")]
    assert _verified(fresh_tenant.schema_name) == sum(kept)
    # ids follow seqs (verify_audit checks it too): both are taken under the head lock
    assert [e.pk for e in entries] == sorted(e.pk for e in entries)


def test_a_stale_known_head_is_read_again_under_the_lock(committed_db, fresh_tenant):
    with schema_context(fresh_tenant.schema_name):
        first = _record(1)
        known = dict(connections["default"]._audit_heads)
        # someone else appends: this connection's known head is now behind
        other = threading.Thread(target=lambda: (_other_append(fresh_tenant), connection.close()))
        other.start()
        other.join(timeout=60)
        assert connections["default"]._audit_heads == known
        entry = _record(3)
        head = ChainHead.objects.get()
    assert entry.seq == first.seq + 2 == head.seq
    assert head.chain_hash == entry.chain_hash
    assert _verified(fresh_tenant.schema_name) == entry.seq


def _other_append(tenant: Any) -> None:
    with schema_context(tenant.schema_name):
        _record(2)


def test_a_rolled_back_append_leaves_no_entry_and_the_next_one_chains(committed_db, fresh_tenant):
    with schema_context(fresh_tenant.schema_name):
        first = _record(1)
        (gone,) = _rolled_back(lambda: _record(2))
        assert gone.seq == first.seq + 1
        # the connection's known head was rolled back: the next append finds out and re-chains
        kept = _record(3)
    assert _seqs(fresh_tenant) == list(range(1, first.seq + 2))
    assert kept.seq == first.seq + 1
    assert trail(fresh_tenant)[-1].object_pk == "3"
    assert _verified(fresh_tenant.schema_name) == kept.seq


def test_a_batch_is_written_as_it_ends_and_drops_rolled_back_savepoints(committed_db, fresh_tenant, caplog):
    start = _verified(fresh_tenant.schema_name)
    with caplog.at_level(logging.INFO, logger="audit"), schema_context(fresh_tenant.schema_name):
        with transaction.atomic(), entries_batched():
            first = _record("kept-1")
            assert first.pk is None  # queued: the head is not locked yet
            assert ChainHead.objects.get().seq == start
            _rolled_back(lambda: _record("gone"))  # a savepoint
            with transaction.atomic():
                _record("kept-2")
            assert _lines(caplog) == []  # nothing logged before the commit
        assert first.pk is not None
        assert first.seq == start + 1
    entries = trail(fresh_tenant)[start:]
    assert [(e.seq, e.object_pk) for e in entries] == [(start + 1, "kept-1"), (start + 2, "kept-2")]
    assert _lines(caplog) == [start + 1, start + 2]
    assert _verified(fresh_tenant.schema_name) == start + 2


def test_a_batch_that_raises_writes_nothing(committed_db, fresh_tenant, caplog):
    start = _verified(fresh_tenant.schema_name)
    with caplog.at_level(logging.INFO, logger="audit"), schema_context(fresh_tenant.schema_name):
        _rolled_back(lambda: _record("gone-1"), lambda: _record("gone-2"), batched=True)
        _record("after")
    assert [(e.seq, e.object_pk) for e in trail(fresh_tenant)[start:]] == [(start + 1, "after")]
    assert _lines(caplog) == [start + 1]
    assert _verified(fresh_tenant.schema_name) == start + 1


def test_a_batch_outside_a_transaction_appends_at_once(committed_db, fresh_tenant):
    start = _verified(fresh_tenant.schema_name)
    with schema_context(fresh_tenant.schema_name), entries_batched():
        entry = _record(1)
        assert entry.pk is not None
        assert entry.seq == start + 1
    assert _verified(fresh_tenant.schema_name) == start + 1


def test_an_entry_of_another_schema_in_a_batch_is_appended_to_its_own_trail(
    committed_db, fresh_tenant, other_tenant
):
    before, start = len(trail(other_tenant)), len(trail(fresh_tenant))
    with schema_context(fresh_tenant.schema_name), transaction.atomic(), entries_batched():
        _record("here")
        with schema_context(other_tenant.schema_name):
            elsewhere = _record("there")
            assert elsewhere.pk is not None
    assert [e.object_pk for e in trail(fresh_tenant)][start:] == ["here"]
    assert [e.object_pk for e in trail(other_tenant)][before:] == ["there"]
    assert _verified(fresh_tenant.schema_name) == start + 1
    assert _verified(other_tenant.schema_name) == before + 1


def test_an_over_long_value_is_refused_not_truncated(committed_db, fresh_tenant):
    """The append casts its values without lengths, so the column refuses what the hash covers whole."""
    from django.db import DataError

    with schema_context(fresh_tenant.schema_name), pytest.raises(DataError):
        record(action="access", object_type="x" * 101, object_id="1")
    start = _verified(fresh_tenant.schema_name)
    with schema_context(fresh_tenant.schema_name):
        _record(1)
    assert _verified(fresh_tenant.schema_name) == start + 1


def test_a_head_moved_around_the_application_is_not_overwritten(committed_db, fresh_tenant):
    """The compare-and-set covers the head's hash too: a head changed behind the app's back (same
    seq) is re-read, never silently replaced, and the forged link is what verify reports."""
    with schema_context(fresh_tenant.schema_name):
        _record(1)
    with owner_cursor(fresh_tenant.schema_name) as cursor:
        cursor.execute("UPDATE audit_chainhead SET chain_hash = %s", ["f" * 64])
    with schema_context(fresh_tenant.schema_name):
        entry = _record(2)
        report = chain_verify()
    assert entry.prev_hash == "f" * 64  # chained to the head it found under the lock
    assert not report.ok
    assert "does not follow" in report.problem


def test_values_are_hashed_as_the_json_column_gives_them_back():
    """`_jsonable` skips the JSON round trip for plain values (a row diff), with the same result."""
    import datetime
    import decimal
    import enum
    import json
    import uuid

    from django.core.serializers.json import DjangoJSONEncoder

    from audit.services import _jsonable

    class Kind(enum.StrEnum):
        A = "a"

    samples: list[Any] = [
        {"email": (None, "a@b.test"), "id": (None, 12), "is_active": (True, False), "x": [1.5, None]},
        {"nested": {"deep": [("t", 1)]}, "empty": {}, "list": []},
        {"when": datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC), "id": uuid.UUID(int=5)},
        {"amount": decimal.Decimal("1.10"), 3: "int key", "kind": Kind.A},
        ["a", Kind.A, True],
        "text",
        7,
    ]
    for value in samples:
        expected = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
        assert _jsonable(value) == expected
        assert json.dumps(_jsonable(value)) == json.dumps(expected)
    assert _jsonable(None) is None
