"""Celery tasks: thin adapters over the accounts services. The periodic one starts in public and
dispatches one task per schema that may hold expired credentials: public, and the tenants that
wrote credentials within their longest lifetime (an idle tenant gets no task)."""

from celery import shared_task
from django_tenants.utils import get_public_schema_name

from saas.beat import beat_slot_take

from .credentials import credentials_schemas, prune_expired_credentials


@shared_task(acks_late=True, ignore_result=True)
def credentials_prune_task(schema: str) -> dict[str, int]:
    return prune_expired_credentials(schema)


@shared_task(ignore_result=True)
def credentials_prune_all_task() -> int:
    """Celery beat: one `credentials_prune_task` for public and one per tenant with credentials that
    may have expired; once per interval however many beats run."""
    if not beat_slot_take("credentials-retention", 3600.0):
        return 0
    schemas = [get_public_schema_name(), *credentials_schemas()]
    for schema in schemas:
        credentials_prune_task.apply_async(args=[schema], headers={"_schema_name": schema})
    return len(schemas)
