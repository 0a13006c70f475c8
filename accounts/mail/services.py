"""Outgoing mail: queue a mail in the caller's transaction, send it from Celery after the commit.

`email_queue(kind=..., to=..., params=...)` writes the outbox row and publishes its send once the
transaction commits; nothing talks to the mail server inside a request. The worker renders the mail
(the kind's builder, accounts.mail.registry, and the templates `templates/email/<kind>*`) and sends it
through the one configured backend (EMAIL_URL). A send that fails for a reason that may pass (the
server down, a 4xx answer) is tried again with back-off by the sweep, up to EMAIL_MAX_ATTEMPTS; one
the server refuses for good (5xx for the recipient or the message) is `failed` at once.
"""

import logging
import random
import smtplib
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.events import AuditEvent
from audit.services import audit_record
from saas.typing import connection
from tenants.due import due_mark
from tenants.selectors import tenant_base_url, tenant_current

from .models import Email, EmailStatus
from .registry import builder_for

logger = logging.getLogger(__name__)

_broker_down_until = 0.0


def email_queue(*, kind: str, to: str, params: dict[str, Any] | None = None) -> Email:
    """Records a mail to send in the active schema and publishes its send after the caller's commit.

    `params` are what the kind's builder needs to render it (ids), never a secret."""
    builder_for(kind)  # an unknown kind is a bug of the caller: fail now, not in the worker
    now = timezone.now()
    due_mark(at=now)  # the sweep's backstop if the send after the commit never happens
    email = Email.objects.create(kind=kind, to=to, params=params or {}, next_attempt_at=now)
    transaction.on_commit(lambda: emails_enqueue(email_ids=[email.pk]), robust=True)
    return email


def _send_task() -> Any:
    """Body import (allowed, see tests/test_import_structure.py): the tasks import this module."""
    from . import tasks

    return tasks.email_send_task


def emails_enqueue(*, email_ids: list[uuid.UUID]) -> bool:
    """Publishes the sends; False when the broker refused (the rows stay due: the sweep sends them).

    Fails fast (no publish retries, the broker's 1 s connect timeout) and after a failure leaves the
    broker alone for WEBHOOK_BROKER_BACKOFF_SECONDS, so a dead Redis never holds up a request."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        _send_task().apply_async(args=[[str(pk) for pk in email_ids]], retry=False)
    except Exception as exc:
        _broker_down_until = time.monotonic() + settings.WEBHOOK_BROKER_BACKOFF_SECONDS
        logger.warning(
            "email enqueue failed; the sweep will send it",
            extra={"error": type(exc).__name__, "schema": connection.schema_name},
        )
        return False
    return True


def _claim(email_ids: Iterable[uuid.UUID], *, due_by: datetime) -> list[Email]:
    """Takes the due mails among `email_ids` for this process: one short transaction that moves their
    `next_attempt_at` a lease ahead (SKIP LOCKED: another worker's), so a worker that dies mid-send
    leaves them to the sweep."""
    lease = timezone.now() + timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)
    with transaction.atomic():
        emails = list(
            Email.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(email_ids), status=EmailStatus.QUEUED, next_attempt_at__lte=due_by)
            .order_by("created_at")
        )
        Email.objects.filter(pk__in=[e.pk for e in emails]).update(next_attempt_at=lease)
    return emails


def email_render(*, email: Email) -> EmailMultiAlternatives | None:
    """The mail as its kind's builder and templates make it now (None: nothing to send)."""
    content = builder_for(email.kind)(email)
    if content is None:
        return None
    tenant = tenant_current()
    context = {
        "tenant": tenant,
        "tenant_url": tenant_base_url(tenant=tenant) if tenant is not None else "",
        "to": email.to,
        **content.context,
    }
    subject = " ".join(render_to_string(f"{content.template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{content.template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"X-Auto-Response-Suppress": "All", "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"{content.template}.html", context), "text/html")
    return message


def _refused_for_good(exc: Exception) -> bool:
    """The server refused this recipient or this message (5xx): sending it again changes nothing.
    Anything else (no connection, a timeout, 4xx, bad credentials) may pass, so it is retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _backoff_seconds(attempts: int) -> float:
    """Full jitter: uniform(0, min(cap, base * 2^(attempts-1))), at least one second."""
    ceiling = min(
        settings.EMAIL_BACKOFF_CAP_SECONDS, settings.EMAIL_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)
    )
    return max(1.0, random.uniform(0, ceiling))  # noqa: S311 (jitter, not a secret)


def _done(email: Email, status: str, error: str = "") -> None:
    now = timezone.now()
    Email.objects.filter(pk=email.pk).update(
        status=status,
        next_attempt_at=None,
        attempts=email.attempts,
        last_error=error[:500],
        sent_at=now if status == EmailStatus.SENT else None,
    )
    if status == EmailStatus.SENT:
        audit_record(
            event=AuditEvent.EMAIL_SENT,
            target=email,
            details={"kind": email.kind, "to": email.to, "attempts": email.attempts},
        )
    elif status == EmailStatus.FAILED:
        audit_record(
            event=AuditEvent.EMAIL_FAILED,
            target=email,
            details={"kind": email.kind, "to": email.to, "attempts": email.attempts, "error": error[:500]},
        )


def _failed_attempt(email: Email, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:500]
    if _refused_for_good(exc):
        _done(email, EmailStatus.FAILED, f"refused: {error}")
        return
    if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        _done(email, EmailStatus.FAILED, f"not sent after {email.attempts} attempts: {error}")
        return
    retry_at = timezone.now() + timedelta(seconds=_backoff_seconds(email.attempts))
    with transaction.atomic():
        due_mark(at=retry_at)
        Email.objects.filter(pk=email.pk).update(
            attempts=email.attempts, last_error=error, next_attempt_at=retry_at
        )
    logger.warning(
        "email not sent; will retry",
        extra={"email": str(email.pk), "kind": email.kind, "attempts": email.attempts, "error": error},
    )


def emails_send(*, email_ids: Iterable[uuid.UUID], due_only: bool = False) -> None:
    """Sends the queued mails among `email_ids` through the configured backend; never raises.

    Runs outside any transaction (after the commit that queued them, or from the sweep's task).
    `due_only` (the sweep) leaves alone a mail whose back-off has not passed; right after its commit
    a mail is due anyway."""
    email_ids = list(email_ids)
    due_by = timezone.now() + (timedelta(0) if due_only else timedelta(seconds=60))
    try:
        emails = _claim(email_ids, due_by=due_by)
        if not emails:
            return
        # Each send opens (and closes) its own connection: a server that is down fails that mail's
        # attempt, which is counted and retried, rather than leaving the batch to its lease.
        backend = get_connection(fail_silently=False)  # SMTP: EMAIL_TIMEOUT per operation
        try:
            for email in emails:
                _send_one(backend, email)
        finally:
            try:
                backend.close()
            except Exception:  # the server went away: nothing left to close
                logger.debug("email connection close failed", exc_info=True)
    except Exception:  # the rows stay queued (leased): the sweep sends them later
        logger.exception("email send failed", extra={"emails": len(email_ids)})


def _send_one(backend: Any, email: Email) -> None:
    try:
        message = email_render(email=email)
    except Exception as exc:  # a bug in a builder or template: sending again would fail again
        logger.exception("email could not be rendered", extra={"email": str(email.pk), "kind": email.kind})
        _done(email, EmailStatus.FAILED, f"not rendered: {type(exc).__name__}: {exc}")
        return
    if message is None:
        _done(email, EmailStatus.SKIPPED)
        return
    email.attempts += 1
    try:
        message.connection = backend
        message.send(fail_silently=False)
    except Exception as exc:
        try:
            backend.close()  # the next mail of the batch opens a fresh connection
        except Exception:
            logger.debug("email connection close failed", exc_info=True)
        _failed_attempt(email, exc)
        return
    _done(email, EmailStatus.SENT)


def emails_due(*, now: datetime | None = None, limit: int = 1000) -> list[uuid.UUID]:
    """Queued mails whose next attempt is due (the partial `email_send_due` index)."""
    return list(
        Email.objects.filter(status=EmailStatus.QUEUED, next_attempt_at__lte=now or timezone.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def emails_next_due() -> datetime | None:
    """The earliest send the sweep would make (the partial `email_send_due` index)."""
    return (
        Email.objects.filter(status=EmailStatus.QUEUED, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def emails_sweep(*, now: datetime | None = None) -> int:
    """Publishes the sends of the schema's due mails: a failed attempt past its back-off, one whose
    publish failed (Redis down) or whose worker died mid-send (its lease passed)."""
    ids = emails_due(now=now)
    if ids and not emails_enqueue(email_ids=ids):
        return 0
    return len(ids)


def emails_purge(*, now: datetime | None = None) -> int:
    """Deletes the schema's finished mails (sent, skipped, failed) older than EMAIL_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EMAIL_RETENTION_DAYS)
    deleted, _ = Email.objects.filter(created_at__lt=cutoff).exclude(status=EmailStatus.QUEUED).delete()
    return deleted
