"""Audit interface used by every app, and the one writer of audit entries.

`audit_record` writes one entry for something that is not a row change (a login, a replay, a
secret rotation, a platform admin reading a tenant); `acting_as` names the actor of changes made
outside a request, e.g. `with acting_as("system:user-service"): ...` in webhook processing.
Row changes are written by django-auditlog (models registered with `audit.registry.track`).
Everything lands in the active schema's trail through `entry_append`.
"""

import ipaddress
import json
import logging
from datetime import UTC
from functools import cache
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from . import chain
from .context import acting_as, current_stamp
from .models import ACTION_CODES, AuditEntry

__all__ = ["acting_as", "audit_record", "entry_append"]

logger = logging.getLogger("audit")

# Verbs that change something; any other non-row event (login, logout, refresh reuse) is "access".
_CHANGE_WORDS = ("rotat", "replay", "role", "change", "update", "reset", "enable", "disable", "revoke")

_LOCK_HEAD_SQL = """
    INSERT INTO audit_chainhead (id, seq, chain_hash, updated_at) VALUES (1, 0, %s, now())
    ON CONFLICT (id) DO UPDATE SET id = audit_chainhead.id
    RETURNING seq, chain_hash
"""
_MOVE_HEAD_SQL = "UPDATE audit_chainhead SET seq = %s, chain_hash = %s, updated_at = now() WHERE id = 1"


@cache
def chain_key() -> bytes:
    return str(settings.AUDIT_CHAIN_KEY).encode()


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back, so the hash is computed over exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


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

    Appends are serialised per schema by locking the chain head row until the transaction ends.
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
    key = chain_key()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK_HEAD_SQL, [chain.genesis(key, schema)])
        head_seq, head_hash = cursor.fetchone()
        entry.seq, entry.prev_hash = head_seq + 1, head_hash
        entry.timestamp = timezone.now()  # taken under the lock: timestamps follow the chain
        entry.chain_hash = chain.digest(key, hashed_values(entry, schema=schema))
        entry.save(force_insert=True)
        cursor.execute(_MOVE_HEAD_SQL, [entry.seq, entry.chain_hash])
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
        # The off-database copy names only entries that exist: written once the append commits
        # (at once outside a transaction), never for one that rolls back.
        transaction.on_commit(lambda: logger.info("audit", extra=line))
    return entry


def _classify(action: str, event: str | None) -> tuple[int, str]:
    if action in ACTION_CODES:
        return ACTION_CODES[action], event or ""
    verb = action.lower()
    category = "update" if any(word in verb for word in _CHANGE_WORDS) else "access"
    return ACTION_CODES[category], event or action


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    changes: dict[str, Any] | None = None,
    actor: Any = None,
    event: str | None = None,
    object_repr: str = "",
) -> AuditEntry:
    """Writes one non-row event to the active schema's trail (e.g. `action="login_failed"`).

    `action` is create|update|delete|access, or an event name (login, logout, refresh_reuse,
    secret_rotate, replay...) that is filed under `update` when it changes something and under
    `access` otherwise. The event name is kept in `changes["event"]`. `actor` (a label or a user)
    overrides the context's actor.
    """
    code, event_name = _classify(action, event)
    details = dict(changes or {})
    if event_name:
        details.setdefault("event", event_name)
    return entry_append(
        action=code,
        event=event_name[:50],
        object_type=object_type,
        object_pk="" if object_id is None else object_id,
        object_id=object_id if isinstance(object_id, int) else None,
        object_repr=object_repr,
        changes=details or None,
        actor=actor,
    )


def tenant_trail_read(*, tenant: Any, via: str, query: dict[str, Any] | None = None) -> None:
    """A platform admin opening a tenant's trail: audited as `access` in both trails."""
    from django_tenants.utils import schema_context

    details = {"tenant": tenant.slug, "via": via, "query": query or {}}
    audit_record(
        action="access",
        event="audit_read",
        object_type="tenants.tenant",
        object_id=tenant.pk,
        changes=details,
    )
    with schema_context(tenant.schema_name):
        audit_record(
            action="access",
            event="audit_read",
            object_type="tenants.tenant",
            object_id=tenant.pk,
            changes=details,
        )
