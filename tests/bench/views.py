"""The routing bench (one component, tenant routing alone, measured inside the platform's stack):
a trivial view, and the switch that lets `/bench/bare/` skip tenant routing."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from tenants.middleware import TenantRoutingMiddleware


def ping(request: HttpRequest) -> JsonResponse:
    tenant = getattr(request, "tenant", None)
    return JsonResponse({"tenant": getattr(tenant, "slug", None)})


class BareRouteMiddleware(TenantRoutingMiddleware):
    """The real routing middleware, except for `/bench/bare/`: the same view with no routing at all."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self._bare = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/bench/bare/"):
            request.urlconf = "tests.bench.urls_public"  # type: ignore[attr-defined]
            return self._bare(request)
        return super().__call__(request)
