"""Celery tasks: thin adapters over accounts.mail.services. They take ids, never model instances.

A send published from a tenant's request carries that schema (tenant-schemas-celery) and runs in
it; the periodic ones start in public and dispatch one task per tenant schema.
"""

import uuid

from celery import shared_task

from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .services import emails_purge, emails_send, emails_sweep


@shared_task(acks_late=True, ignore_result=True)
def email_send_task(email_ids: list[str]) -> None:
    emails_send(email_ids=[uuid.UUID(pk) for pk in email_ids])


@shared_task(acks_late=True, ignore_result=True)
def emails_sweep_task() -> int:
    return emails_sweep()


@shared_task(acks_late=True, ignore_result=True)
def emails_purge_task() -> int:
    return emails_purge()


def _active_schemas() -> list[str]:
    return list(tenant_with_schema_list(status=TenantStatus.ACTIVE).values_list("schema_name", flat=True))


@shared_task(ignore_result=True)
def emails_sweep_all_task() -> int:
    """Celery beat: one `emails_sweep_task` per active tenant, each in that tenant's schema."""
    schemas = _active_schemas()
    for schema in schemas:
        emails_sweep_task.apply_async(headers={"_schema_name": schema})
    return len(schemas)


@shared_task(ignore_result=True)
def emails_purge_all_task() -> int:
    """Celery beat: retention, one `emails_purge_task` per active tenant."""
    schemas = _active_schemas()
    for schema in schemas:
        emails_purge_task.apply_async(headers={"_schema_name": schema})
    return len(schemas)
