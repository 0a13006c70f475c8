"""Per-tenant integration settings and the inbound webhook events (all in the tenant's schema)."""

from django.db import models
from django.db.models import Q

from saas.crypto import secret_decrypt

from .service_names import COMMUNICATION_SERVICE, PAYMENT_SERVICE, USER_SERVICE

API_KEY_PURPOSE = "integrations.api_key"  # the key derivation of saas.crypto: never change it


class Service(models.TextChoices):
    USER = USER_SERVICE
    PAYMENT = PAYMENT_SERVICE
    COMMUNICATION = COMMUNICATION_SERVICE


class EventStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    RETRYING = "retrying"
    DEAD = "dead"
    IGNORED = "ignored"


# Statuses the sweep looks at: each carries the time it is due again in `next_attempt_at`.
ACTIVE_STATUSES = (EventStatus.RECEIVED, EventStatus.RETRYING, EventStatus.PROCESSING)


class IntegrationSettings(models.Model):
    """One external service's settings for this tenant: where to call it and how its webhooks are signed."""

    service = models.CharField(max_length=40, choices=Service.choices, unique=True)
    enabled = models.BooleanField(default=True)
    base_url = models.URLField(max_length=500, blank=True)
    # Fernet token of the API key (see saas.crypto); never returned by the API or logged.
    api_key_encrypted = models.TextField(blank=True)
    signing_secret = models.CharField(max_length=200)
    previous_signing_secret = models.CharField(max_length=200, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "integrations_endpoint"  # its first name, kept when migration 0005 renamed the model
        ordering = ["service"]
        verbose_name = verbose_name_plural = "integration settings"

    def __str__(self) -> str:
        return self.service

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def api_key_value(self) -> str:
        """The plaintext API key ("" when none is set), for the outgoing HTTP client only."""
        return secret_decrypt(self.api_key_encrypted, purpose=API_KEY_PURPOSE)


class WebhookEvent(models.Model):
    service = models.CharField(max_length=40, choices=Service.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    # When the sweep should look at the event again: the back-off for `retrying`, the lease end for
    # `processing` (a worker that died), a short grace after intake for `received`.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    stale = models.BooleanField(default=False, help_text="Older than what was already applied.")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "event_id"], name="webhookevent_service_event_id"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhookevent_due",
                condition=Q(status__in=["received", "retrying", "processing"]),
            ),
            models.Index(fields=["service", "status", "received_at"], name="webhookevent_service_status"),
            models.Index(fields=["status", "received_at"], name="webhookevent_status_received"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.event_id} ({self.status})"


class AppliedVersion(models.Model):
    """The `occurred_at` of the newest event applied to one object, so older events change nothing."""

    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()
    event_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id"], name="appliedversion_object"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}@{self.occurred_at.isoformat()}"


# ---------------------------------------------------------------------------------------------
# What the services' events keep current
# ---------------------------------------------------------------------------------------------


class Subscription(models.Model):
    """The tenant's subscription at the payment service; its plan is the tenant's plan."""

    external_id = models.CharField(max_length=255, unique=True)
    customer_id = models.CharField(max_length=255, blank=True)
    plan = models.CharField(max_length=20)
    status = models.CharField(max_length=20)  # active, trialing, past_due, canceled, ...
    current_period_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.plan}, {self.status})"


class Invoice(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    subscription_external_id = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(help_text="In the currency's minor unit (cents).")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)  # paid, payment_failed
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


class MessageStatus(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    BOUNCED = "bounced"
    FAILED = "failed"


# How far along a message is: a status only ever moves to a higher rank; bounced/failed are final.
MESSAGE_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "opened": 3, "bounced": 9, "failed": 9}


class Message(models.Model):
    """A message the platform sends through the communication service, with its delivery status.

    The row is also the outbox: it is written in the transaction that decides to send (pending:
    `next_send_at` set), sent after that commit, and sent again by the sweep when the send failed
    or its process died. Its id is the Idempotency-Key, so a second send never makes a second copy."""

    id = models.UUIDField(primary_key=True)  # deterministic per purpose: also the Idempotency-Key
    kind = models.CharField(max_length=40)  # welcome, ...
    user = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Sending: due at `next_send_at` (None: sent, given up, or parked until the service is configured).
    next_send_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    send_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_send_at"], name="message_send_due", condition=Q(next_send_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"


class SyncRun(models.Model):
    """One reconciliation of the tenant's users with the user service (resumable page by page)."""

    service = models.CharField(max_length=40, default="user-service")
    status = models.CharField(max_length=20, default="running")  # running, completed, failed
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_page = models.PositiveIntegerField(default=1)
    seen_external_ids = models.JSONField(default=list)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # Records the service may not write: an email of an account it did not create, or an owner.
    refused = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"sync {self.pk} ({self.status})"
