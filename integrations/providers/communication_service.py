"""communication-service: `POST /messages` and its webhooks (contract section 7).

`message.sent|delivered|opened|bounced|failed` `data: {"id", "message_id", "recipient", "reason"?}`
update the delivery status of a message the platform sent. A status only moves forward
(queued < sent < delivered < opened; bounced and failed are final), so events in any order end
in the same state.
"""

import logging
import uuid
from collections.abc import Callable

from django.db import connection
from django.utils import timezone

from accounts.models import User
from integrations.errors import PermanentError, RetryableError
from integrations.models import MESSAGE_STATUS_RANK, Message, MessageStatus, WebhookEvent

logger = logging.getLogger(__name__)

_MESSAGE_NAMESPACE = uuid.UUID("5b0c8f4e-4a43-4f0b-9a51-6f1d8f0a7c21")

WELCOME_SUBJECT = "Welcome aboard"


def message_id_for(purpose: str) -> uuid.UUID:
    """A message id that is the same every time the same message is meant (per tenant schema).

    It is also the Idempotency-Key of the POST, so a retried event never sends a second copy."""
    return uuid.uuid5(_MESSAGE_NAMESPACE, f"{connection.schema_name}:{purpose}")


def message_send(*, kind: str, purpose: str, user: User | None, to: str, subject: str, body: str) -> Message:
    """Records the message and sends it through `POST /messages` (idempotent per `purpose`).

    A 4xx from the service marks the message `failed` rather than failing the caller's event;
    5xx, timeouts and an open breaker propagate so the engine retries or reschedules."""
    from integrations.http import ServiceRejected, service_client

    message_id = message_id_for(purpose)
    message = Message.objects.filter(pk=message_id).first()
    if message is not None and message.external_id:
        return message  # sent before
    if message is None:
        message = Message.objects.create(id=message_id, kind=kind, user=user, recipient=to, subject=subject)
    client = service_client("communication-service")
    if client is None:
        logger.info("communication-service not configured; message kept queued", extra={"kind": kind})
        return message
    try:
        answer = client.post(
            "/messages",
            json={"message_id": str(message_id), "to": to, "subject": subject, "body": body},
            idempotency_key=str(message_id),
        )
    except ServiceRejected as exc:
        message.status, message.status_reason = MessageStatus.FAILED, f"rejected: {exc}"[:500]
        message.status_changed_at = timezone.now()
        message.save()
        return message
    message.external_id = str((answer or {}).get("id") or "")
    message.save(update_fields=["external_id", "updated_at"])
    return message


def welcome_send(*, user: User) -> Message:
    """The welcome message of a synced user, sent once whatever happens to its events."""
    name = user.first_name or user.email
    return message_send(
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
