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
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import escape
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from audit.context import actor_label
from audit.events import AuditEvent
from audit.security import security_event_record

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain rule refused the operation; carries the API code and status to answer with."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "conflict",
        status_code: int = status.HTTP_409_CONFLICT,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.details = details or {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    code: str, message: str, status_code: int, details: dict[str, Any] | None = None, **headers: str
) -> JsonResponse:
    """A plain Django JSON error, for middleware and views outside DRF."""
    response = JsonResponse(error_body(code, message, details), status=status_code)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


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


def is_api_path(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/") or request.path.startswith("/api/")


# What a person is told, by error code first, then by status: (heading, explanation or None for
# the error's own message). No page says more than the API would.
_PAGES_BY_CODE: dict[str, tuple[str, str | None]] = {
    "tenant_not_found": ("No such organization", "Nothing is served at this address. Check it for typos."),
    "tenant_inactive": (
        "This organization is not available",
        "Its account is suspended or closed. If this is unexpected, contact its administrator.",
    ),
    "unknown_host": ("Unknown address", "This host is not served here. Check the address for typos."),
    "csrf_failed": (
        "This form has expired",
        "The form was sent without a valid security token, or its page was open too long. "
        "Reload the page and send it again. Cookies must be enabled.",
    ),
}
_PAGES_BY_STATUS: dict[int, tuple[str, str | None]] = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Access denied", "You do not have permission to see this page."),
    404: ("Page not found", "The address may be mistyped, or the page has moved."),
    405: ("Method not allowed", None),
    429: ("Too many requests", "Too many requests came from here. Wait a moment, then try again."),
    500: ("Something went wrong", "The error was recorded. Try again in a moment."),
}
# Errors about the host itself: this host has no start page to send anyone back to.
_NO_HOME = {"tenant_not_found", "tenant_inactive", "unknown_host"}


def _error_page(
    request: HttpRequest, code: str, message: str, status_code: int, details: dict[str, Any]
) -> str:
    heading, text = _PAGES_BY_CODE.get(code) or _PAGES_BY_STATUS.get(status_code, ("Error", None))
    context = {
        "status": status_code,
        "heading": heading,
        "text": text or message,
        "retry_after": details.get("retry_after"),
        "home": None if code in _NO_HOME else "/",
        "request_id": getattr(request, "request_id", ""),
    }
    try:
        # No request context: the page must render even when the request is what is broken (a 500,
        # a bad Host header), and it needs no CSRF token or session.
        return render_to_string("errors/error.html", context)
    except Exception:
        logger.exception("error page failed to render")
        title, body = escape(heading), escape(text or message)
        return f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{body}</p>"


def error_for(
    request: HttpRequest,
    code: str,
    message: str,
    status_code: int,
    details: dict[str, Any] | None = None,
    *,
    page: str | None = None,
    **headers: str,
) -> HttpResponse:
    """The JSON envelope on `/api/` paths, the HTML error page elsewhere; same status and headers.

    For middleware and views outside DRF; header names are given with `_` for `-`
    (`Retry_After="7"`), as in `error_response`. `page` picks the HTML page by another code than the
    API's (the API keeps its old, more general code).
    """
    if is_api_path(request):
        return error_response(code, message, status_code, details, **headers)
    html = _error_page(request, page or code, message, status_code, details or {})
    response = HttpResponse(html, status=status_code, content_type="text/html; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_for(request, "not_found", "Not found.", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_for(request, "server_error", "Internal server error.", 500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_for(request, "bad_request", "Bad request.", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_for(request, "permission_denied", "You do not have permission to do this.", 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the reason stays in the log, not on the page."""
    logger.warning("csrf failure", extra={"reason": reason, "path": request.path})
    return error_for(request, "csrf_failed", "CSRF verification failed.", 403)
