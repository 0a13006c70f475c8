"""Celery tasks: thin adapters over integrations.services. They take ids, never model instances.

Tasks sent from a tenant's request or from `schema_context` carry that schema (tenant-schemas-celery)
and run inside it; the periodic ones start in public and dispatch a task only to the tenant schemas
that have work (tenants.due: one query on the public schema finds them).
"""

import logging
import uuid

from celery import shared_task
from django.conf import settings

from saas.beat import beat_slot_take
from tenants.due import due_dispatch, due_sweep, retention_run, retention_schemas
from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .errors import CircuitOpenError, PermanentError, RetryableError
from .providers.communication_service import messages_send
from .selectors import schemas_with_service
from .services import events_process, events_process_pending
from .sync import SyncNotConfigured, users_sync


@shared_task(acks_late=True, ignore_result=True)
def process_events(event_ids: list[int]) -> None:
    events_process(event_ids=event_ids)


@shared_task(acks_late=True, ignore_result=True)
def process_pending() -> int:
    return events_process_pending()


@shared_task(acks_late=True, ignore_result=True)
def sweep_tenant() -> int:
    """One tenant's sweep: every outbox's due rows (events, messages, mails), then its due-marker."""
    return due_sweep()


@shared_task(acks_late=True, ignore_result=True)
def send_messages(message_ids: list[str]) -> None:
    messages_send(message_ids=[uuid.UUID(pk) for pk in message_ids], due_only=True)


@shared_task(acks_late=True, ignore_result=True)
def purge_tenant() -> int:
    """One tenant's retention: every outbox's finished rows past their days."""
    return retention_run()


def _active_schemas() -> list[str]:
    return list(tenant_with_schema_list(status=TenantStatus.ACTIVE).values_list("schema_name", flat=True))


@shared_task(ignore_result=True)
def sweep_all_tenants() -> int:
    """Celery beat: one `sweep_tenant` per active tenant with work due (one query on the public
    schema, tenants.due); a tenant with nothing due gets no task."""
    if not beat_slot_take("webhooks-sweep", settings.WEBHOOK_SWEEP_INTERVAL_SECONDS):
        return 0  # another beat's tick already ran this interval's sweep
    schemas = due_dispatch()
    for schema in schemas:
        sweep_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)


@shared_task(ignore_result=True)
def purge_all_tenants() -> int:
    """Celery beat: retention, one `purge_tenant` per active tenant that had work within the longest
    retention period (an idle tenant has nothing left to delete)."""
    if not beat_slot_take("webhooks-retention", 3600.0):
        return 0
    schemas = retention_schemas()
    for schema in schemas:
        purge_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)


# ---------------------------------------------------------------------------------------------
# Reconciliation with the user service
# ---------------------------------------------------------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def sync_users_tenant() -> None:
    """One tenant's reconciliation; a failed run is resumed by the next one."""
    try:
        users_sync()
    except SyncNotConfigured:
        return
    except (RetryableError, CircuitOpenError, PermanentError) as exc:
        logging.getLogger(__name__).warning(
            "user sync failed; the next run resumes", extra={"error": str(exc)}
        )


@shared_task(ignore_result=True)
def sync_users_all_tenants() -> int:
    """Celery beat: one `sync_users_tenant` per active tenant whose user service is configured."""
    if not beat_slot_take("users-sync", settings.INTEGRATIONS_SYNC_INTERVAL_SECONDS):
        return 0
    schemas = schemas_with_service(service="user-service", schemas=_active_schemas())
    for schema in schemas:
        sync_users_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)
