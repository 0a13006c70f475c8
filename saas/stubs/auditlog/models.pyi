# What the platform uses of django-auditlog's abstract entry model (the package has no type hints):
# enough for mypy's Django plugin to see audit.AuditEntry as a model. The fields AuditEntry
# replaces (content_type, actor, cid, remote_port, object_id, action) are left out.
from typing import Any, ClassVar

from django.db import models
from django_stubs_ext import StrOrPromise

class LogEntryManager(models.Manager[Any]): ...

class AbstractLogEntry(models.Model):
    class Action:
        CREATE: ClassVar[int]
        UPDATE: ClassVar[int]
        DELETE: ClassVar[int]
        ACCESS: ClassVar[int]
        choices: ClassVar[tuple[tuple[int, StrOrPromise], ...]]

    object_pk = models.CharField(max_length=255)
    object_repr = models.TextField()
    serialized_data = models.JSONField(null=True)
    changes_text = models.TextField(blank=True)
    changes = models.JSONField(null=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    timestamp = models.DateTimeField()
    additional_data = models.JSONField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, null=True, blank=True)

    class Meta:
        abstract = True
