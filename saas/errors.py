"""Error answers outside DRF: the domain's ApplicationError, the JSON envelope
`{"error": {"code", "message", "details"}}` and the HTML error pages, with Django's error views.

Free of DRF, so middleware, services and the rate limiter import it at their top (DRF's views load
the authentication classes at import, and those import the rate limiter and the services); DRF's
exception handler, which needs DRF, is in saas/exceptions.py.
"""

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import escape

logger = logging.getLogger("saas.exceptions")


class ApplicationError(Exception):
    """A domain rule refused the operation; carries the API code and status to answer with."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "conflict",
        status_code: int = 409,
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
