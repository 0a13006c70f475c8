"""Request id and one JSON access-log line per request."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from .typing import request_tenant, routed

logger = logging.getLogger("saas.request")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _user_label(user: object) -> str | None:
    """The signed-in user's email, or what a principal that is no person calls itself (`apikey:<name>`)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "audit_label", None) or getattr(user, "email", None)


class RequestLogMiddleware:
    """Honours a sane `X-Request-ID` or makes one, echoes it, and logs the request when done."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        routed(request).request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        tenant = request_tenant(request)
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "tenant": getattr(tenant, "slug", None),
                "user": _user_label(user),
            },
        )
        return response
