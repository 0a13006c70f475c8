"""Reads of the audit trail: filtered listing and chain verification (active schema)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from saas.typing import connection

from . import chain
from .models import ACTION_CODES, AuditEntry, ChainHead
from .services import chain_key, hashed_values


def entry_list(
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Entries of the active schema's trail, newest first. `actor` matches the label or the email;
    `object_type` the full label (`accounts.user`) or just the model (`user`)."""
    entries = AuditEntry.objects.all()
    if actor:
        entries = entries.filter(Q(actor__iexact=actor) | Q(actor_email__iexact=actor))
    if action:
        entries = entries.filter(action=ACTION_CODES[action])
    if object_type:
        object_type = object_type.lower()
        entries = entries.filter(Q(object_type=object_type) | Q(object_type__endswith=f".{object_type}"))
    if object_id:
        entries = entries.filter(object_pk=object_id)
    if since:
        entries = entries.filter(timestamp__gte=since)
    if until:
        entries = entries.filter(timestamp__lte=until)
    return entries.order_by("-seq")


@dataclass(frozen=True)
class ChainReport:
    schema: str
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""
    entry_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


def chain_verify() -> ChainReport:
    """Walks the active schema's chain in order and reports the first entry that was altered,
    removed or inserted out of order, or entries removed from the end (against the head)."""
    schema = connection.schema_name
    key = chain_key()
    head = ChainHead.objects.filter(pk=1).first()
    head_seq = head.seq if head else 0
    expected_prev, expected_seq, last_id, checked = chain.genesis(key, schema), 1, 0, 0

    def report(problem: str = "", entry_id: int | None = None) -> ChainReport:
        return ChainReport(schema, checked, head_seq, head.chain_hash if head else "", problem, entry_id)

    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        where = f"entry {entry.id} (seq {entry.seq})"
        if entry.seq > head_seq:
            return report(f"{where} was inserted after the chain head (seq {head_seq})", entry.id)
        if entry.seq != expected_seq:
            missing = f"seq {expected_seq}" + (f"-{entry.seq - 1}" if entry.seq - 1 > expected_seq else "")
            return report(f"entries removed before {where}: {missing} missing", entry.id)
        if entry.prev_hash != expected_prev:
            return report(f"{where} does not follow the entry before it (removed or inserted)", entry.id)
        if chain.digest(key, hashed_values(entry, schema=schema)) != entry.chain_hash:
            return report(f"{where} was altered: its hash does not match its contents", entry.id)
        if entry.id <= last_id:
            return report(f"{where} was inserted out of order", entry.id)
        expected_prev, expected_seq, last_id = entry.chain_hash, expected_seq + 1, entry.id
        checked += 1
    if head is not None and checked != head_seq:
        return report(f"entries after seq {checked} were removed (the head is at seq {head_seq})")
    if head is not None and head.chain_hash != expected_prev:
        return report(f"the chain head does not match entry seq {checked}")
    return report()
