"""communication-service: `POST /messages` and its webhooks.

`message.sent|delivered|opened|bounced|failed` `data: {"id", "message_id", "recipient", "reason"?}`
update the delivery status of a message the platform sent. A status only moves forward
(queued < sent < delivered < opened; bounced and failed are final), so events in any order end
in the same state.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import acting_as
from integrations.errors import CircuitOpenError, PermanentError, RetryableError
from integrations.http import ServiceClient, ServiceRejected, retry_delay, service_client
from integrations.models import MESSAGE_STATUS_RANK, Message, MessageStatus, WebhookEvent
from saas.typing import connection
from tenants.due import due_mark

logger = logging.getLogger(__name__)

_MESSAGE_NAMESPACE = uuid.UUID("5b0c8f4e-4a43-4f0b-9a51-6f1d8f0a7c21")

WELCOME_SUBJECT = "Welcome aboard"


def message_id_for(purpose: str) -> uuid.UUID:
    """A message id that is the same every time the same message is meant (per tenant schema).

    It is also the Idempotency-Key of the POST, so a retried event never sends a second copy."""
    return uuid.uuid5(_MESSAGE_NAMESPACE, f"{connection.schema_name}:{purpose}")


def message_queue(*, kind: str, purpose: str, user: User | None, to: str, subject: str, body: str) -> Message:
    """Records the message to send (once per `purpose`) and sends it after the caller's commit.

    Makes no outgoing call: it runs inside the caller's transaction, and the row it writes is what
    drives the send (`messages_send` on commit, then the sweep until it is sent or given up). A
    message already sent is left alone; one not sent yet (failed, parked) is queued again."""
    message_id = message_id_for(purpose)
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is not None and message.external_id:
        return message  # sent before
    now = timezone.now()
    if message is None:
        message = Message.objects.create(
            id=message_id, kind=kind, user=user, recipient=to, subject=subject, body=body, next_send_at=now
        )
    elif message.next_send_at is None:
        message.status, message.status_reason, message.status_changed_at = MessageStatus.QUEUED, "", now
        message.send_attempts, message.send_error, message.next_send_at = 0, "", now
        message.save()
    due_mark(at=now)  # the sweep's backstop if the send after the commit never happens
    transaction.on_commit(lambda: messages_send(message_ids=[message_id]), robust=True)
    return message


def _claim_sends(message_ids: list[uuid.UUID], *, due_by: datetime) -> list[Message]:
    """Takes the next send of the due messages among `message_ids` for this process: one short
    transaction that pushes their `next_send_at` a lease ahead (SKIP LOCKED: another process's)."""
    lease = timezone.now() + timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS)
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk__in=message_ids, external_id="", status=MessageStatus.QUEUED, next_send_at__lte=due_by)
            .order_by("created_at")
        )
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(next_send_at=lease)
    return messages


def _send_failed(message: Message, reason: str) -> None:
    """A message that will not be sent: a status change, so saved row-wise for the audit trail."""
    message.status, message.status_reason = MessageStatus.FAILED, reason[:500]
    message.status_changed_at, message.next_send_at = timezone.now(), None
    message.save(
        update_fields=[
            "status",
            "status_reason",
            "status_changed_at",
            "next_send_at",
            "send_attempts",
            "send_error",
            "updated_at",
        ]
    )


def _send_one(client: ServiceClient, message: Message) -> None:
    """One `POST /messages`, then its bookkeeping: a single UPDATE (the delivery plumbing of a message
    is not audited row by row, like an event's processing steps; `failed` is)."""
    pending = Message.objects.filter(pk=message.pk)
    try:
        answer = client.post(
            "/messages",
            json={
                "message_id": str(message.pk),
                "to": message.recipient,
                "subject": message.subject,
                "body": message.body,
            },
            idempotency_key=str(message.pk),
        )
    except ServiceRejected as exc:
        _send_failed(message, f"rejected: {exc}")
        return
    except CircuitOpenError as exc:  # not the message's fault: no attempt counted
        with transaction.atomic():
            due_mark(at=exc.retry_at)
            pending.update(next_send_at=exc.retry_at, send_error=f"CircuitOpenError: {exc}"[:500])
        return
    except Exception as exc:
        message.send_attempts += 1
        message.send_error = f"{type(exc).__name__}: {exc}"[:500]
        if message.send_attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            _send_failed(message, f"not sent after {message.send_attempts} attempts: {message.send_error}")
            return
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        delay = retry_delay(attempts=message.send_attempts, retry_after=retry_after)
        retry_at = timezone.now() + timedelta(seconds=delay)
        with transaction.atomic():
            due_mark(at=retry_at)
            pending.update(
                next_send_at=retry_at,
                send_attempts=message.send_attempts,
                send_error=message.send_error,
                updated_at=timezone.now(),
            )
        return
    pending.update(
        external_id=str((answer or {}).get("id") or ""),
        next_send_at=None,
        send_error="",
        updated_at=timezone.now(),
    )


def messages_send(*, message_ids: list[uuid.UUID], due_only: bool = False) -> None:
    """Sends the pending messages among `message_ids` through `POST /messages`; never raises.

    Runs outside any transaction (after the commit that queued them, or from the sweep's task). The
    message id is the Idempotency-Key, so two processes sending the same message make one copy. A 4xx
    marks it `failed`; 5xx/timeouts retry with back-off (the sweep sends it when due) up to
    WEBHOOK_MAX_ATTEMPTS, then `failed`; an open breaker postpones it without counting an attempt.
    `due_only` (the sweep) skips messages not due yet; right after their commit they are due anyway."""
    due_by = timezone.now() + (timedelta(0) if due_only else timedelta(seconds=60))
    try:
        with acting_as("system:communication-service"):
            messages = _claim_sends(message_ids, due_by=due_by)
            if not messages:
                return
            client = service_client("communication-service")
            if client is None:
                logger.info("communication-service not configured; messages kept queued")
                Message.objects.filter(pk__in=[m.pk for m in messages]).update(
                    next_send_at=None, send_error="communication-service not configured"
                )
                return
            for message in messages:
                _send_one(client, message)
    except Exception:  # the rows stay due (or leased): the sweep sends them later
        logger.exception("message send failed", extra={"messages": len(message_ids)})


def messages_due(*, now: datetime | None = None, limit: int = 1000) -> list[uuid.UUID]:
    """Pending messages whose send is due (uses the partial `message_send_due` index)."""
    return list(
        Message.objects.filter(
            next_send_at__lte=now or timezone.now(), external_id="", status=MessageStatus.QUEUED
        )
        .order_by("next_send_at")
        .values_list("id", flat=True)[:limit]
    )


def messages_next_due() -> datetime | None:
    """The earliest send the sweep would make (the partial `message_send_due` index)."""
    return (
        Message.objects.filter(next_send_at__isnull=False, external_id="", status=MessageStatus.QUEUED)
        .order_by("next_send_at")
        .values_list("next_send_at", flat=True)
        .first()
    )


def welcome_queue(*, user: User) -> Message:
    """The welcome message of a synced user, sent once whatever happens to its events."""
    name = user.first_name or user.email
    return message_queue(
        kind="welcome",
        purpose=f"welcome:{user.external_id or user.pk}",
        user=user,
        to=user.email,
        subject=WELCOME_SUBJECT,
        body=f"Hello {name}, your account is ready.",
    )


def _find_message(message_ref: str, provider_id: str) -> Message | None:
    try:
        by_id = Message.objects.filter(pk=uuid.UUID(message_ref)).first()
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    refs = {r for r in (message_ref, provider_id) if r}
    return Message.objects.filter(external_id__in=refs).first() if refs else None


def message_status(event: WebhookEvent) -> None:
    """`message.<status>`: moves the message's status forward; a backwards move changes nothing."""
    data = event.payload.get("data") or {}
    status = event.type.removeprefix("message.")
    message_ref, provider_id = str(data.get("message_id") or ""), str(data.get("id") or "")
    if not message_ref and not provider_id:
        raise PermanentError("data.message_id is required")
    message = _find_message(message_ref, provider_id)
    if message is None:
        # The webhook can overtake the commit of the event that sent the message: try again later.
        raise RetryableError(f"message {message_ref or provider_id} is not known (yet)", retry_after=5)
    message = Message.objects.select_for_update().get(pk=message.pk)
    current = MESSAGE_STATUS_RANK[message.status]
    if current >= MESSAGE_STATUS_RANK[status]:
        event.stale = True  # already at or past this status (or final)
        return
    message.status = status
    message.status_reason = str(data.get("reason") or "")[:500]
    message.status_changed_at = event.occurred_at
    if provider_id and not message.external_id:
        message.external_id = provider_id
    message.save()


HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {
    f"message.{status}": message_status for status in ("sent", "delivered", "opened", "bounced", "failed")
}
