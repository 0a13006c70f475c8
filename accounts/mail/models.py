"""The tenant's outbox: one row per mail to send, in the schema of the tenant it concerns."""

import uuid

from django.db import models
from django.db.models import Q


class EmailStatus(models.TextChoices):
    QUEUED = "queued"  # due at `next_attempt_at` (None: a worker is sending it, see the lease)
    SENT = "sent"
    SKIPPED = "skipped"  # its builder had nothing to send (a reset asked for an unknown email)
    FAILED = "failed"  # refused by the server, or not sent after EMAIL_MAX_ATTEMPTS


class Email(models.Model):
    """A mail to send. Written in the transaction that decides to send it, sent by a Celery task after
    that commit, and by the sweep until it is sent or given up: the row, not the broker, is the outbox.

    The row names what to send (`kind`, `params`), never its text: the kind's builder (accounts.mail.registry)
    renders it when it is sent, so a link's secret (a reset token) is never stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    to = models.EmailField()
    params = models.JSONField(default=dict, blank=True)  # what the builder needs; never a secret
    status = models.CharField(max_length=20, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="email_send_due", condition=Q(status="queued")),
            models.Index(fields=["created_at"], name="email_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
