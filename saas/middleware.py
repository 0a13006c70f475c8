"""Request id and one JSON access-log line per request; the browser-only middleware, kept off the
token API."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .request_id import current_request_id
from .typing import request_tenant, routed

logger = logging.getLogger("saas.request")

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


# ---------------------------------------------------------------------------------------------
# The browser stack, only where a browser is served
# ---------------------------------------------------------------------------------------------

# API paths of a browser flow: SSO keeps its state in the session, and the token exchange after
# it authenticates by the session cookie (with its CSRF token).
_SESSION_API_PREFIXES = ("/api/v1/sso", "/api/v1/auth/sso")
# JSON is never a document to render: nothing may load from it, nothing may frame it.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def is_browser_request(request: HttpRequest) -> bool:
    """False for the token API (JWTs and API keys: no session, cookie, message or page); True for
    pages, admin, docs and the SSO flows."""
    path = request.path_info
    return not path.startswith("/api/") or path.startswith(_SESSION_API_PREFIXES)


class BrowserSessionMiddleware(SessionMiddleware):
    """Sessions for browser requests only: an API request reads no session cookie and sets none."""

    def process_request(self, request: HttpRequest) -> None:
        if is_browser_request(request):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class BrowserAuthenticationMiddleware(AuthenticationMiddleware):
    """The session user where there is a session; on the API, DRF's authentication sets the user."""

    def process_request(self, request: HttpRequest) -> None:
        if hasattr(request, "session"):
            super().process_request(request)


class BrowserMessageMiddleware(MessageMiddleware):
    """Flash messages are for pages; the API has none to store or show."""

    def process_request(self, request: HttpRequest) -> None:
        if is_browser_request(request):
            super().process_request(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (with its nonce) on browser answers; on API answers a fixed, stricter one
    that costs nothing to build."""

    def process_request(self, request: HttpRequest) -> None:
        if is_browser_request(request):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if is_browser_request(request):
            return super().process_response(request, response)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = API_CONTENT_SECURITY_POLICY
        return response
