"""Celery hooks: changes made inside a task are audited as `system:celery:<task name>` (unless the
task names its actor with `acting_as`), under the request id of the request that queued it."""

import contextlib
from typing import Any

from celery import signals

from saas.request_id import current_request_id

from .context import task_finished, task_started

HEADER = "saas_request_id"
_tokens: dict[str, Any] = {}


@signals.before_task_publish.connect(weak=False)
def _pass_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = current_request_id.get()
    if headers is not None and request_id:
        headers.setdefault(HEADER, request_id)


@signals.task_prerun.connect(weak=False)
def _task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    request = task.request
    request_id = (
        (request.headers or {}).get(HEADER)
        or request.get(HEADER)
        or current_request_id.get()
        or f"task:{task_id}"
    )
    _tokens[task_id] = task_started(actor=f"system:celery:{task.name}", request_id=str(request_id))


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id: str, **kwargs: Any) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # a token from another context: nothing to undo
            task_finished(token)
