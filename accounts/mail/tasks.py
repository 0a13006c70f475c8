"""Celery tasks: thin adapters over accounts.mail.services. They take ids, never model instances.

A send published from a tenant's request carries that schema (tenant-schemas-celery) and runs in
it. The sweep and retention of the outbox run as part of each tenant's sweep (tenants.due,
integrations.tasks.sweep_tenant / purge_tenant), only for tenants with work.
"""

import uuid

from celery import shared_task

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
