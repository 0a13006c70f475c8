"""Celery tasks: thin adapters over integrations.services. They take ids, never model instances.

Tasks sent from a tenant's request or from `schema_context` carry that schema (tenant-schemas-celery)
and run inside it; the periodic ones start in public and dispatch one task per tenant schema.
"""

import logging
import uuid

from celery import shared_task

from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .errors import CircuitOpenError, PermanentError, RetryableError
from .providers.communication_service import messages_send
from .services import events_process, events_process_pending, events_purge, events_sweep, messages_sweep
from .sync import SyncNotConfigured, users_sync


@shared_task(acks_late=True, ignore_result=True)
def process_events(event_ids: list[int]) -> None:
    events_process(event_ids=event_ids)


@shared_task(acks_late=True, ignore_result=True)
def process_pending() -> int:
    return events_process_pending()


@shared_task(acks_late=True, ignore_result=True)
def sweep_tenant() -> int:
    return events_sweep() + messages_sweep()


@shared_task(acks_late=True, ignore_result=True)
def send_messages(message_ids: list[str]) -> None:
    messages_send(message_ids=[uuid.UUID(pk) for pk in message_ids], due_only=True)


@shared_task(acks_late=True, ignore_result=True)
def purge_tenant() -> int:
    return events_purge()


def _active_schemas() -> list[str]:
    return list(tenant_with_schema_list(status=TenantStatus.ACTIVE).values_list("schema_name", flat=True))


@shared_task(ignore_result=True)
def sweep_all_tenants() -> int:
    """Celery beat: one `sweep_tenant` per active tenant, each running in that tenant's schema."""
    schemas = _active_schemas()
    for schema in schemas:
        sweep_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)


@shared_task(ignore_result=True)
def purge_all_tenants() -> int:
    """Celery beat: retention, one `purge_tenant` per active tenant."""
    schemas = _active_schemas()
    for schema in schemas:
        purge_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)


# ---------------------------------------------------------------------------------------------
# Reconciliation with the user service (issue 6)
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
    """Celery beat: one `sync_users_tenant` per active tenant, each in that tenant's schema."""
    schemas = _active_schemas()
    for schema in schemas:
        sync_users_tenant.apply_async(headers={"_schema_name": schema})
    return len(schemas)
