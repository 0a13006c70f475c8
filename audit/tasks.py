"""Periodic audit work."""

from celery import shared_task

from .security import security_events_flush


@shared_task(acks_late=True)
def flush_security_events() -> None:
    """Writes the counted-only security events of closed minutes into their schemas' trails."""
    security_events_flush()
