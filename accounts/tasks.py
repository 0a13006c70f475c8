"""Celery tasks: thin adapters over the accounts services. The periodic one starts in public and
dispatches one task per schema that holds credentials (public and every active tenant)."""

from celery import shared_task
from django_tenants.utils import get_public_schema_name

from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .credentials import prune_expired_credentials


@shared_task(acks_late=True, ignore_result=True)
def credentials_prune_task(schema: str) -> dict[str, int]:
    return prune_expired_credentials(schema)


@shared_task(ignore_result=True)
def credentials_prune_all_task() -> int:
    """Celery beat: one `credentials_prune_task` for public and one per active tenant."""
    tenants = tenant_with_schema_list(status=TenantStatus.ACTIVE).values_list("schema_name", flat=True)
    schemas = [get_public_schema_name(), *tenants]
    for schema in schemas:
        credentials_prune_task.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)
