"""Browser pages of the platform host that belong to no app: the start page and the favicon."""

from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tenants.selectors import tenant_for_slug

_FAVICON = Path(__file__).resolve().parent / "static" / "saas" / "favicon.ico"


def _demo_sign_in_url(request: HttpRequest) -> str | None:
    """The demo tenant's sign-in page, on this request's scheme and port; in development only."""
    if settings.DJANGO_ENV != "development":
        return None
    tenant = tenant_for_slug(slug=settings.DEMO_TENANT_SLUG)
    if tenant is None or not tenant.is_active:
        return None
    host = request.get_host()
    port = "" if host.endswith("]") or ":" not in host else host.rsplit(":", 1)[1]
    return f"{request.scheme}://{tenant.slug}.{settings.SAAS_BASE_DOMAIN}{':' + port if port else ''}/login/"


@require_safe
def platform_home(request: HttpRequest) -> HttpResponse:
    """`/` on the platform host: where to go (admin, API docs, health; the demo tenant in development)."""
    context = {
        "base_domain": settings.SAAS_BASE_DOMAIN,
        "demo_sign_in_url": _demo_sign_in_url(request),
        "demo_slug": settings.DEMO_TENANT_SLUG,
        "development": settings.DJANGO_ENV == "development",
    }
    return render(request, "platform/home.html", context)


@cache
def _favicon_bytes() -> bytes:
    return _FAVICON.read_bytes()


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico` on every host: browsers ask for it whatever the page says."""
    response = HttpResponse(_favicon_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
