"""Who, where and how: the context every audit entry is stamped with.

Sources, strongest first: an explicit actor passed to `audit_record`, `acting_as(...)` around
work done on someone else's behalf (webhook processing), the Celery task being run
(`system:celery:<task>`), then the current request's user (read when the entry is written, so a
DRF view sees the JWT user its authentication class set), else `system`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from saas.net import client_ip
from saas.request_id import current_request_id

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_acting_as: ContextVar[str | None] = ContextVar("audit_acting_as", default=None)
_task: ContextVar["TaskContext | None"] = ContextVar("audit_task", default=None)


@dataclass(frozen=True)
class TaskContext:
    actor: str
    request_id: str


@dataclass(frozen=True)
class Stamp:
    actor: str
    actor_email: str | None
    remote_addr: str | None
    user_agent: str
    request_id: str


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Names the actor of everything audited inside, e.g. `acting_as("system:user-service")`."""
    token = _acting_as.set(actor)
    try:
        yield
    finally:
        _acting_as.reset(token)


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def task_started(*, actor: str, request_id: str) -> Token["TaskContext | None"]:
    return _task.set(TaskContext(actor=actor, request_id=request_id))


def task_finished(token: Token["TaskContext | None"]) -> None:
    _task.reset(token)


def actor_label(user: Any) -> str:
    """`<email>` for a tenant user, `platform:<email>` for platform staff, `anonymous` for nobody;
    a principal that is no person names itself (`audit_label`, e.g. `apikey:<name>`)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    own = getattr(user, "audit_label", None)
    if own:
        return str(own)
    email = getattr(user, "email", "") or f"id:{user.pk}"
    return f"platform:{email}" if getattr(user, "is_platform_admin", False) else email


def _user_email(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "email", None) or None


def current_stamp(actor: Any = None) -> Stamp:
    """The stamp for an entry written now; `actor` is a label or a user, overriding the context."""
    request = _request.get()
    task = _task.get()
    email: str | None = None
    label: str | None
    if actor is not None and not isinstance(actor, str):
        label, email = actor_label(actor), _user_email(actor)
    else:
        label = actor or _acting_as.get() or (task.actor if task else None)
        if label is None and request is not None:
            user = getattr(request, "user", None)
            label, email = actor_label(user), _user_email(user)
    request_id = (
        getattr(request, "request_id", "") or current_request_id.get() or (task.request_id if task else "")
    )
    return Stamp(
        actor=label or "system",
        actor_email=email,
        remote_addr=(client_ip(request) or None) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512] if request is not None else "",
        request_id=request_id[:128],
    )
