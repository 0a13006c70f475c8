"""The audit trail: one append-only, hash-chained table per schema (public = the platform's trail).

`AuditEntry` is django-auditlog's entry model (`AUDITLOG_LOGENTRY_MODEL`), so auditlog's row-change
receivers write here; every insert, theirs or `audit_record`'s, goes through `entry_append`, which
fills in who/where/how and chains the entry. Database triggers refuse UPDATE, DELETE and TRUNCATE.
"""

from collections.abc import Callable
from typing import Any, ClassVar

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.core.exceptions import ImproperlyConfigured
from django.db import models

ACTION_NAMES = {
    AbstractLogEntry.Action.CREATE: "create",
    AbstractLogEntry.Action.UPDATE: "update",
    AbstractLogEntry.Action.DELETE: "delete",
    AbstractLogEntry.Action.ACCESS: "access",
}
ACTION_CODES = {name: code for code, name in ACTION_NAMES.items()}


class AuditEntryManager(LogEntryManager):
    # The one chained writer, `audit.services.entry_append`, handed over by AuditConfig.ready():
    # services builds entries of this module's model, so this module does not import services.
    writer: ClassVar[Callable[..., "AuditEntry"] | None] = None

    def create(self, **fields: Any) -> "AuditEntry":
        """auditlog's receivers end here: route them through the one chained writer."""
        writer = type(self).writer
        if writer is None:
            raise ImproperlyConfigured("audit is not ready: AuditConfig.ready() sets the writer")
        return writer(**fields)


class AuditEntry(AbstractLogEntry):
    # Content type ids differ between schemas, so entries name their object by label instead.
    content_type = None
    cid = None  # the request id below is the correlation id
    remote_port = None
    object_id = models.BigIntegerField(null=True, blank=True)
    action = models.PositiveSmallIntegerField(choices=AbstractLogEntry.Action.choices)

    actor = models.CharField(max_length=300, db_index=True)  # email, "platform:<email>", "system:<name>"
    object_type = models.CharField(max_length=100, db_index=True)  # "accounts.user", "tenants.tenant"
    event = models.CharField(max_length=50, blank=True)  # "login_failed", "role_change", ... or ""
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    seq = models.BigIntegerField(unique=True)  # position in this schema's chain, 1, 2, 3...
    prev_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)

    objects: ClassVar[AuditEntryManager] = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        ordering = ["-seq"]
        get_latest_by = "seq"
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action_name} {self.object_type} {self.object_pk}".strip()

    @property
    def action_name(self) -> str:
        return ACTION_NAMES.get(self.action, str(self.action))


class ChainHead(models.Model):
    """The anchor of this schema's chain: the last entry's position and hash (one row, id 1).

    Appends lock this row, which serialises them per schema; `verify_audit` compares the chain's
    end with it, so entries removed from the end are caught too.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"head #{self.seq}"
