"""Request-body size limit and the cache policy of API answers."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .exceptions import error_response, is_api_path


class BodySizeLimitMiddleware:
    """413 `payload_too_large` when the declared body exceeds SAAS_MAX_BODY_BYTES, before it is read.

    Bodies without a Content-Length are capped again by the JSON parser, which reads at most the
    limit plus one byte.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return error_response("validation_error", "Content-Length is not a number.", 400)
        if length < 0:
            return error_response("validation_error", "Content-Length is not a number.", 400)
        limit = settings.SAAS_MAX_BODY_BYTES
        if length > limit:
            return error_response("payload_too_large", f"The request body is larger than {limit} bytes.", 413)
        return self.get_response(request)


class ApiCacheControlMiddleware:
    """API answers carry tokens or tenant data: no browser or proxy may store them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api_path(request) and not request.path.startswith("/api/schema"):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response
