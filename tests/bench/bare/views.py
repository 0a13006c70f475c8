"""The three baselines: what the measured platform paths do at their core, and nothing else.

- `hello`: a JSON answer (against `GET /api/v1/auth/me`);
- `insert`: the body into a plain table, then one LPUSH (against signed single-event intake);
- `users`: count + one page of a plain table with accounts_user's columns, as JSON (against
  `GET /api/v1/users/?page_size=50`).
"""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

_redis = redis.Redis.from_url(settings.REDIS_URL)
EVENTS = f"{settings.BARE_SCHEMA}.events"
USERS = f"{settings.BARE_SCHEMA}.users"
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


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


def insert(request: HttpRequest) -> JsonResponse:
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {EVENTS} (body) VALUES (%s::jsonb)", [body.decode()])  # noqa: S608
    _redis.lpush("bench:bare:events", body)
    return JsonResponse({"accepted": 1, "duplicates": 0}, status=202)


def users_page(request: HttpRequest) -> JsonResponse:
    size = min(max(int(request.GET.get("page_size", 20)), 1), 100)
    page = max(int(request.GET.get("page", 1)), 1)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {USERS}")  # noqa: S608 (constant name)
        count = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {USERS} ORDER BY id LIMIT %s OFFSET %s",  # noqa: S608
            [size, (page - 1) * size],
        )
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    nxt = f"?page={page + 1}&page_size={size}" if page * size < count else None
    prev = f"?page={page - 1}&page_size={size}" if page > 1 else None
    return JsonResponse({"count": count, "next": nxt, "previous": prev, "results": rows})
