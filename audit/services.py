"""Audit interface used by every app, and the one writer of audit entries.

`audit_record(event=AuditEvent.X, target=..., actor=..., details=...)` writes one entry for
something that is not a row change (a login, a replay, a secret rotation, a platform admin reading a
tenant); `acting_as` names the actor of changes made
outside a request, e.g. `with acting_as("system:user-service"): ...` in webhook processing.
Row changes are written by django-auditlog (models registered with `audit.registry.track`).
Everything lands in the active schema's trail through `entry_append`.
"""

import ipaddress
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.db import prepared
from saas.db.prepared import Statement
from saas.typing import connection

from . import chain
from .context import acting_as, current_stamp
from .events import CHANGING_EVENTS, AuditEvent
from .models import ACTION_CODES, AuditEntry

__all__ = ["AuditEvent", "acting_as", "audit_record", "entries_batched", "entry_append", "object_type_of"]

logger = logging.getLogger("audit")

# Takes the head row lock (creating the head of a fresh schema) and reads it.
_LOCK_HEAD_SQL = """
    INSERT INTO audit_chainhead (id, seq, chain_hash, updated_at) VALUES (1, 0, %s, now())
    ON CONFLICT (id) DO UPDATE SET id = audit_chainhead.id
    RETURNING seq, chain_hash
"""
# Moves the head from the (seq, hash) the entries were chained to and inserts them, in one statement.
# The UPDATE is a compare-and-set: when another writer moved the head meanwhile it matches no row
# (after waiting for that writer's commit), the INSERT then has nothing to join with and inserts
# nothing, and the writer re-chains under the lock. Its row lock is held until the transaction ends.
_APPEND_SQL = """
    WITH head AS (
        UPDATE audit_chainhead SET seq = %s, chain_hash = %s, updated_at = now()
         WHERE id = 1 AND seq = %s AND chain_hash = %s
        RETURNING 1
    )
    INSERT INTO audit_auditentry ({columns})
    SELECT v.* FROM (VALUES {rows}) AS v ({columns}), head
    RETURNING id, seq
"""
# Casts for the VALUES rows (without lengths: the table's own types refuse an over-long value
# instead of a cast truncating what the hash covers).
_CASTS = {
    "CharField": "text",
    "TextField": "text",
    "JSONField": "jsonb",
    "GenericIPAddressField": "inet",
    "DateTimeField": "timestamptz",
    "BigIntegerField": "bigint",
    "PositiveSmallIntegerField": "smallint",
}


@cache
def chain_key() -> bytes:
    return str(settings.AUDIT_CHAIN_KEY).encode()


_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    pass


def _plain(value: Any) -> Any:
    """`value` as JSON gives it back, when it holds only dicts with str keys, lists, tuples and
    scalars of exactly those types (a row diff): tuples become lists. Anything else: _NotPlain."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {key: _plain(item) if type(key) is str else _not_plain() for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    return _not_plain()


def _not_plain() -> Any:
    raise _NotPlain


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back, so the hash is computed over exactly what is stored
    (without an encode and a decode for a plain value, `_plain`)."""
    if value is None:
        return None
    try:
        return _plain(value)
    except _NotPlain:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@lru_cache(maxsize=1024)
def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def hashed_values(entry: AuditEntry, *, schema: str) -> dict[str, Any]:
    """The fields of an entry that its chain hash covers, in their canonical form."""
    return {
        "schema": schema,
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "timestamp": entry.timestamp.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "actor_email": entry.actor_email,
        "action": entry.action,
        "event": entry.event,
        "object_type": entry.object_type,
        "object_pk": entry.object_pk,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "additional_data": entry.additional_data,
        "remote_addr": entry.remote_addr,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
    }


def _event_for(*, action: int, object_type: str, changes: Any) -> str:
    if object_type == "accounts.user" and action == ACTION_CODES["update"] and changes and "role" in changes:
        return "role_change"
    return ""


def entry_append(
    *,
    action: int,
    object_type: str | None = None,
    content_type: Any = None,
    object_pk: Any = "",
    object_id: int | None = None,
    object_repr: str = "",
    changes: Any = None,
    additional_data: Any = None,
    serialized_data: Any = None,
    event: str = "",
    actor: Any = None,
    **_ignored: Any,
) -> AuditEntry:
    """Stamps an entry with actor/IP/UA/request id and appends it to the active schema's chain.

    Appends are serialised per schema by locking the chain head row until the transaction ends
    (inside `entries_batched()`, the block's entries are appended together as it exits).
    The `audit` log line (schema, seq, chain hash) is written when the transaction commits.
    """
    if object_type is None:
        object_type = f"{content_type.app_label}.{content_type.model}" if content_type else ""
    changes = _jsonable(changes)
    stamp = current_stamp(actor)
    entry = AuditEntry(
        action=action,
        event=event or _event_for(action=action, object_type=object_type, changes=changes),
        object_type=object_type,
        object_pk="" if object_pk is None else str(object_pk)[:255],
        object_id=object_id,
        object_repr=str(object_repr or ""),
        changes=changes,
        additional_data=_jsonable(additional_data),
        serialized_data=_jsonable(serialized_data),
        actor=stamp.actor[:300],
        actor_email=stamp.actor_email,
        remote_addr=_ip(stamp.remote_addr),
        user_agent=stamp.user_agent,
        request_id=stamp.request_id,
    )
    schema = connection.schema_name
    batch = _batch.get()
    if batch is not None and batch.schema == schema and connection.in_atomic_block:
        # Chained with the rest of the batch when it ends; the log line doubles as the marker that
        # tells whether the entry's savepoint survived (Django drops it from on_commit if not).
        marker = _log_line(entry, schema)
        transaction.on_commit(marker)
        batch.entries.append((entry, marker))
        return entry
    _chain_write([entry], schema=schema)
    # The off-database copy names only entries that exist: written once the append commits
    # (at once outside a transaction), never for one that rolls back.
    transaction.on_commit(_log_line(entry, schema))
    return entry


def _log_line(entry: AuditEntry, schema: str) -> Callable[[], None]:
    def log() -> None:
        if logger.isEnabledFor(logging.INFO):
            line = {
                "schema": schema,
                "seq": entry.seq,
                "chain_hash": entry.chain_hash,
                "action": entry.action_name,
                "object_type": entry.object_type,
                "object_id": entry.object_pk,
                "actor": entry.actor,
                "request_id": entry.request_id,
            }
            logger.info("audit", extra=line)

    return log


@cache
def _insert_fields() -> tuple[tuple[str, str, str], ...]:
    """(attribute, column, cast) of every column an append writes."""
    return tuple(
        (f.attname, f.column, _CASTS[f.get_internal_type()])
        for f in AuditEntry._meta.concrete_fields
        if not f.primary_key
    )


# Appends of up to this many entries are prepared statements of the session: planning the append
# as text cost the server as much as running it (0.47 against 0.23 ms for one entry, pgbench). A
# larger batch is rarer and spreads its planning over its rows: it stays text.
_PREPARED_ROWS = 16


@cache
def _append_statement(rows: int) -> Statement:
    fields = _insert_fields()
    columns = ", ".join(connection.ops.quote_name(column) for _, column, _ in fields)
    row = "(" + ", ".join(f"%s::{cast}" for _, _, cast in fields) + ")"
    sql = _APPEND_SQL.format(columns=columns, rows=", ".join([row] * rows))
    return Statement(sql, label="audit_append", prepare=rows <= _PREPARED_ROWS)


def _row(entry: AuditEntry) -> list[Any]:
    """The entry's values as the casts above read them (JSON values are already `_jsonable`)."""
    values = []
    for attname, _, cast in _insert_fields():
        value = getattr(entry, attname)
        values.append(json.dumps(value) if cast == "jsonb" and value is not None else value)
    return values


def _known_heads() -> dict[str, tuple[int, str]]:
    """The head this connection last moved, per schema: only a guess, which the append's
    compare-and-set checks (another process may have moved it, or the transaction rolled back)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    heads: dict[str, tuple[int, str]] | None = getattr(wrapper, "_audit_heads", None)
    if heads is None:
        heads = wrapper._audit_heads = {}  # type: ignore[attr-defined]
    return heads


def _chain_to(entries: list[AuditEntry], head: tuple[int, str], *, schema: str) -> bool:
    """Chains `entries` after `head` and writes them and the new head in one statement; False when
    the head had moved (nothing written)."""
    key = chain_key()
    seq, prev = head
    now = timezone.now()
    params: list[Any] = []
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash, entry.timestamp = seq, prev, now
        entry.chain_hash = prev = chain.digest(key, hashed_values(entry, schema=schema))
        params.extend(_row(entry))
    with connection.cursor() as cursor:
        prepared.execute(cursor, _append_statement(len(entries)), [seq, prev, head[0], head[1], *params])
        ids = {row_seq: pk for pk, row_seq in cursor.fetchall()}
    if not ids:
        return False
    for entry in entries:
        entry.pk = ids[entry.seq]
        entry._state.adding, entry._state.db = False, DEFAULT_DB_ALIAS
    _known_heads()[schema] = (seq, prev)
    return True


def _chain_write(entries: list[AuditEntry], *, schema: str) -> None:
    """Appends `entries`, in order, to the active schema's chain.

    One statement when this connection moved the head last (the usual case for a worker or a request
    writing several entries); otherwise the head row is locked and read first. Either way the head
    row stays locked until the transaction ends, which serialises appends per schema."""
    head = _known_heads().get(schema)
    if head is not None and _chain_to(entries, head, schema=schema):
        return
    # Lock, read and move in one transaction (outside one, the lock would end with the first statement).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK_HEAD_SQL, [chain.genesis(chain_key(), schema)])
        locked = cursor.fetchone()
        if not _chain_to(entries, (locked[0], locked[1]), schema=schema):
            raise RuntimeError(f"the audit chain head of {schema} moved while locked")


@dataclass
class _Batch:
    schema: str
    entries: list[tuple[AuditEntry, Callable[[], None]]] = field(default_factory=list)


_batch: ContextVar[_Batch | None] = ContextVar("audit_batch", default=None)


@contextmanager
def entries_batched() -> Iterator[None]:
    """Inside a transaction: the block's entries are chained together, in one statement, as it exits.

    The schema's head lock is then taken at the end of the caller's transaction rather than at its
    first change, and held only until its commit (the webhook engine's batches). An entry whose
    savepoint rolled back is dropped; on an exception nothing is written (the transaction rolls back).
    Outside a transaction, or nested in another batch, entries are appended as usual."""
    if not connection.in_atomic_block or _batch.get() is not None:
        yield
        return
    batch = _Batch(schema=connection.schema_name)
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    entries_flush(batch=batch)


def entries_flush(*, batch: _Batch) -> None:
    """Writes a batch's surviving entries (Django forgets the on_commit callbacks of a rolled-back
    savepoint, and each entry registered its log line as one)."""
    live = {id(item[1]) for item in connection.run_on_commit}
    entries = [entry for entry, marker in batch.entries if id(marker) in live]
    if entries:
        _chain_write(entries, schema=batch.schema)


Target = Model | tuple[str, Any] | None


def object_type_of(model: type[Model] | Model) -> str:
    """The one object-type format of the trail, auditlog's too: `app_label.model`."""
    return model._meta.label_lower


def audit_record(
    *,
    event: AuditEvent,
    target: Target = None,
    actor: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Writes one entry for something that is not a row change (a sign-in, a replay, a secret
    rotation, a platform admin reading a tenant) to the active schema's trail.

    `target` is a model instance, or `(object type, id)` for what has no row of its own (an
    `app_label.model` when there is a model, e.g. `(object_type_of(IntegrationSettings), "user-service")`).
    `actor` is a User (labelled `<email>`, `platform:<email>` for staff, with its email stored) or
    a principal naming itself (`apikey:<name>`, a ServiceActor), or a system name
    (`system:<name>`); None takes the context's actor. The event is filed under `update` when it
    changes something (`CHANGING_EVENTS`), else `access`, and kept in `details["event"]`.
    """
    event = AuditEvent(event)
    if target is None:
        object_type, object_id = "", None
    elif isinstance(target, tuple):
        object_type, object_id = target
    else:
        object_type, object_id = object_type_of(target), target.pk
    code = ACTION_CODES["update" if event in CHANGING_EVENTS else "access"]
    return entry_append(
        action=code,
        event=event.value,
        object_type=object_type,
        object_pk="" if object_id is None else object_id,
        object_id=object_id if isinstance(object_id, int) else None,
        changes={**(details or {}), "event": event.value},
        actor=actor,
    )


def tenant_trail_read(*, tenant: Any, via: str, query: dict[str, Any] | None = None) -> None:
    """A platform admin opening a tenant's trail: audited as `access` in both trails."""
    details = {"tenant": tenant.slug, "via": via, "query": query or {}}
    audit_record(event=AuditEvent.AUDIT_READ, target=tenant, details=details)
    with schema_context(tenant.schema_name):
        audit_record(event=AuditEvent.AUDIT_READ, target=tenant, details=details)
