"""The id of the request (or task) being served, for logs, audit entries, error reports and the tasks
it queues. A module of its own, free of Django, so the Celery app and the settings-time error
tracker can import it at their top."""

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
