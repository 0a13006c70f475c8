"""Reconciliation: make the tenant's synced users match the user service's `GET /users?page=`.

Every page is fetched outside any transaction, then committed as it is read (create, update,
reactivate), with the ids seen so far kept on the `SyncRun`. Like the service's webhooks, the sync
only writes the users the service created (matched by `external_id`, never by email) and never an
owner; a record it may not apply is counted as `refused`. Users are deactivated only after the
LAST page was read, so a service failing halfway deactivates nobody; the next run resumes at the
page that failed (when the failed run is recent and the service still reports the same count;
otherwise it starts again from page 1).
The summary goes to the audit trail.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import USER_SERVICE_ACTOR, normalize_email, user_create, user_deactivate, user_update
from audit.events import AuditEvent
from audit.services import acting_as, audit_record, object_type_of
from saas.errors import ApplicationError

from .http import service_client
from .models import IntegrationSettings, Service, SyncRun
from .versions import version_advance

Progress = Callable[[int, int, int], None]  # (page, pages, users seen)


class SyncNotConfigured(Exception):
    pass


def _resumable_run() -> SyncRun | None:
    since = timezone.now() - timedelta(seconds=settings.INTEGRATIONS_SYNC_RESUME_SECONDS)
    return SyncRun.objects.filter(status="failed", started_at__gte=since, service="user-service").first()


def _apply(run: SyncRun, item: Any, *, fetched_at: Any) -> None:
    """Creates, updates or reactivates one user from the service's record."""
    if not isinstance(item, dict) or not item.get("id") or not isinstance(item.get("email"), str):
        return
    external_id = str(item["id"])
    try:
        validate_email(item["email"])
    except ValidationError:
        return
    email = normalize_email(item["email"])
    first, last = str(item.get("first_name") or "")[:150], str(item.get("last_name") or "")[:150]
    run.seen_external_ids.append(external_id)
    user = User.objects.filter(external_id=external_id).first()
    if (user is None and User.objects.filter(email=email).exists()) or (user and user.role == Role.OWNER):
        # An account the service did not create (never taken over by its email) or another synced
        # user's email: left for a person to sort out. An owner: never changed by the service.
        run.refused += 1
        return
    # What we read is at least as new as any event that occurred before we read it; an event that
    # occurred after (already applied) wins.
    if not version_advance(
        object_type="user", object_id=external_id, occurred_at=fetched_at, event_id=f"sync:{run.pk}"
    ):
        run.unchanged += 1
        return
    wanted: dict[str, Any] = {"first_name": first, "last_name": last, "is_active": True}
    # Another user having the email now leaves the email as it is; the rest is still applied.
    if user is None or not User.objects.filter(email=email).exclude(pk=user.pk).exists():
        wanted["email"] = email
    changed = {field: value for field, value in wanted.items() if getattr(user, field, None) != value}
    if user is not None and not changed:
        run.unchanged += 1
        return
    try:
        if user is None:
            user_create(actor=USER_SERVICE_ACTOR, password=None, external_id=external_id, **wanted)
            run.created += 1
        else:
            user_update(actor=USER_SERVICE_ACTOR, user=user, **changed)
            run.updated += 1
    except (ApplicationError, ValidationError):
        run.refused += 1  # the accounts rules refuse it (e.g. the email was taken meanwhile)


def users_sync(*, page_size: int = 50, progress: Progress | None = None) -> SyncRun:
    """Pages through the user service and reconciles the tenant's synced users; audited.

    Errors of the service (RetryableError, CircuitOpenError, PermanentError) leave the run
    `failed` at its page, deactivate nobody, and are raised again for the caller."""
    client = service_client("user-service")
    if client is None:
        raise SyncNotConfigured("The user-service integration is disabled or has no base URL.")
    run = _resumable_run() or SyncRun.objects.create(service="user-service")
    run.status, run.last_error = "running", ""
    run.save()
    pages = 0
    with acting_as("system:user-service"):
        try:
            while True:
                answer = client.get("/users", params={"page": run.next_page, "page_size": page_size})
                fetched_at = timezone.now()
                count = int(answer.get("count") or 0)
                pages = max(1, -(-count // page_size))
                with transaction.atomic():
                    for item in answer.get("results") or []:
                        _apply(run, item, fetched_at=fetched_at)
                    run.next_page += 1
                    run.save()
                if progress:
                    progress(run.next_page - 1, pages, len(run.seen_external_ids))
                if not answer.get("next"):
                    break
        except Exception as exc:
            run.status, run.last_error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            run.save(update_fields=["status", "last_error"])
            audit_record(
                event=AuditEvent.SYNC,
                target=(object_type_of(IntegrationSettings), Service.USER),
                details={"status": "failed", "page": run.next_page, "error": run.last_error[:200]},
            )
            raise
        with transaction.atomic():
            seen = set(run.seen_external_ids)
            gone = (
                User.objects.filter(external_id__isnull=False, is_active=True)
                .exclude(external_id__in=seen)
                .exclude(role=Role.OWNER)
                .filter(updated_at__lt=run.started_at)  # touched by an event during the run: kept
            )
            for user in gone:
                user_deactivate(actor=USER_SERVICE_ACTOR, user=user)
                run.deactivated += 1
            run.status, run.finished_at = "completed", timezone.now()
            run.seen_external_ids = []  # done with them; keeps the table small
            run.save()
        audit_record(
            event=AuditEvent.SYNC,
            target=(object_type_of(IntegrationSettings), Service.USER),
            details={
                "status": "completed",
                "pages": pages,
                "created": run.created,
                "updated": run.updated,
                "deactivated": run.deactivated,
                "unchanged": run.unchanged,
                "refused": run.refused,
            },
        )
    return run
