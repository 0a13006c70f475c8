"""One error envelope for the whole API: {"error": {"code", "message", "details"}}.

Services raise `django.core.exceptions.ValidationError` for bad input and `ApplicationError`
for a broken domain rule; the handler below maps both (and DRF's own errors) to responses.
Outside `/api/` (sign-in pages, admin, docs) people read the answer, so `error_for` gives them a
small HTML page with the same status instead; Django's error handlers and the CSRF failure view
go through it too.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from audit.context import actor_label
from audit.events import AuditEvent
from audit.security import security_event_record

from .errors import (
    ApplicationError,
    bad_request,
    csrf_failure,
    error_body,
    error_for,
    error_response,
    is_api_path,
    page_not_found,
    permission_denied,
    server_error,
)

__all__ = [
    "ApplicationError",
    "bad_request",
    "csrf_failure",
    "error_body",
    "error_for",
    "error_response",
    "exception_handler",
    "is_api_path",
    "page_not_found",
    "permission_denied",
    "server_error",
]

logger = logging.getLogger(__name__)


_CODES = {
    status.HTTP_400_BAD_REQUEST: "validation_error",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


def _flatten(detail: Any) -> Any:
    """DRF ErrorDetail trees to plain strings/lists/dicts."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _error_response(exc, context)
    if response is not None and response.status_code == status.HTTP_403_FORBIDDEN:
        _denial_record(context.get("request"), response)
    return response


def _denial_record(request: Any, response: Response) -> None:
    """A permission denial (a role rule or a permission class) is a security event of the route's trail."""
    error = response.data["error"]
    user = getattr(request, "user", None)
    security_event_record(
        kind=AuditEvent.PERMISSION_DENIED,
        source=actor_label(user) if getattr(user, "is_authenticated", False) else None,  # else the IP
        details={
            "code": error["code"],
            "message": error["message"][:200],
            "method": getattr(request, "method", ""),
            "path": getattr(request, "path", "")[:200],
        },
    )


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler answers with the envelope, without detail

    code = _CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        if not isinstance(details, dict):
            details = {"non_field_errors": details}
        message = "The request is not valid."
    else:
        detail = getattr(exc, "detail", None)
        message = str(detail) if detail is not None else response.status_text
        details = dict(getattr(exc, "details", None) or {})  # e.g. RateLimited: limit, retry_after
        if isinstance(detail, dict):  # simplejwt puts its code and messages in a dict
            message = str(detail.get("detail", message))
            explicit = detail.get("code")
            if explicit in {"token_tenant_mismatch", "invalid_token"}:
                code = str(explicit)
            elif explicit == "token_not_valid":
                code = "invalid_token"
        elif getattr(exc, "default_code", "") in {"token_not_valid", "authentication_failed"}:
            code = "invalid_token" if response.status_code == 401 else code
        custom_code = getattr(exc, "error_code", None)
        if custom_code:
            code = custom_code
    response.data = error_body(code, message, details)
    return response
