"""Small helpers shared by the audit tests."""

from typing import Any

from django_tenants.utils import schema_context

from audit.models import AuditEntry
from tenants.models import Tenant

UA = "audit-test-agent/1.0"
IP = "203.0.113.7"


def trail(tenant: Tenant | None = None) -> list[AuditEntry]:
    """The entries of a tenant's trail (or the platform's), oldest first."""
    with schema_context(tenant.schema_name if tenant else "public"):
        return list(AuditEntry.objects.order_by("seq"))


def last(tenant: Tenant | None = None, **filters: Any) -> AuditEntry:
    with schema_context(tenant.schema_name if tenant else "public"):
        entry = AuditEntry.objects.filter(**filters).order_by("-seq").first()
    assert entry is not None, f"no audit entry matching {filters}"
    return entry


def count(tenant: Tenant | None = None) -> int:
    with schema_context(tenant.schema_name if tenant else "public"):
        return AuditEntry.objects.count()


def request_headers(request_id: str) -> dict[str, str]:
    return {"HTTP_USER_AGENT": UA, "REMOTE_ADDR": IP, "HTTP_X_REQUEST_ID": request_id}


def record(
    *,
    action: str = "access",
    object_type: str = "",
    object_id: Any = None,
    changes: dict[str, Any] | None = None,
    actor: Any = None,
    event: str = "",
) -> AuditEntry:
    """Writes an entry straight through the chain writer, free-form (any object type, action and
    event, as entries written before `AuditEvent` were): for tests of the trail itself."""
    from audit.models import ACTION_CODES
    from audit.services import entry_append

    return entry_append(
        action=ACTION_CODES[action],
        event=event,
        object_type=object_type,
        object_pk="" if object_id is None else object_id,
        object_id=object_id if isinstance(object_id, int) else None,
        changes=changes,
        actor=actor,
    )
