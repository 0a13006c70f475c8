"""Bench-only views: the baselines, and the switch that lets `/bench/bare/` skip tenant routing."""

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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


PLAIN_TABLE = "public.bench_plain_user"
COLUMNS = [
    "id",
    "email",
    "first_name",
    "last_name",
    "role",
    "is_active",
    "external_id",
    "created_at",
    "updated_at",
]


class BarePlainUsersView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        size = min(max(int(request.query_params.get("page_size", 20)), 1), 100)
        page = max(int(request.query_params.get("page", 1)), 1)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {PLAIN_TABLE}")  # noqa: S608 (constant name)
            count = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {PLAIN_TABLE} ORDER BY id LIMIT %s OFFSET %s",  # noqa: S608
                [size, (page - 1) * size],
            )
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        nxt = f"?page={page + 1}&page_size={size}" if page * size < count else None
        prev = f"?page={page - 1}&page_size={size}" if page > 1 else None
        return Response({"count": count, "next": nxt, "previous": prev, "results": rows})
