"""The intake benchmark's baseline: a bare Django view doing one INSERT and one Redis push."""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .views import BareRouteMiddleware

_redis = redis.Redis.from_url(settings.REDIS_URL)


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO public.bench_bare (body) VALUES (%s)", [body.decode()])
    _redis.lpush("bench:bare", body)
    return JsonResponse({"accepted": 1, "duplicates": 0}, status=202)


class WebhookBareRouteMiddleware(BareRouteMiddleware):
    """`/bench/bare/` skips tenant routing, resolved against this bench's urlconf."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/bench/bare/"):
            request.urlconf = "tests.bench.webhook_urls"  # type: ignore[attr-defined]
            return self._bare(request)
        return super().__call__(request)
