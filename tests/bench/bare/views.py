"""The three baselines: what the measured platform paths do at their core, and nothing else.

- `hello`: a JSON answer (against `GET /api/v1/auth/me`);
- `insert`: the body into a plain table, then one LPUSH (against signed single-event intake);
- `users`: count + one page of a plain table with accounts_user's columns, as JSON (against
  `GET /api/v1/users/?page_size=50`).

And two floors, printed beside the baselines, not instead of them: the least a Django view must do
to keep the contract's promises on that path, without a framework or middleware. They show how
much of a goal the contract's own round trips and checks already spend:

- `me_floor`: the access token's HS256 signature and expiry (PyJWT), the token user read with its
  revocation check in one statement (revocation and demotion on the next request), one counted
  request in Redis (one script call, the tenant's budget), five fields as JSON;
- `users_floor`: the same checks, then `users`' count and page;
- `intake_floor`: the Standard Webhooks signature (HMAC-SHA256 over id, timestamp and body), one
  counted delivery in Redis, the INSERT, and the kick (`SET NX`, after the insert commits).
"""

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
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


# One counted request: INCR, and the window's expiry on the first (the platform's limiter does this
# for up to three counters in one script call).
_count = _redis.register_script(
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n"
)
_TOKEN_USER = (
    "SELECT u.id, u.email, u.first_name, u.last_name, u.role, EXISTS (SELECT 1 FROM"
    " {schema}.accounts_revokedaccesstoken WHERE jti = %s) FROM {schema}.accounts_user u"
    " WHERE u.id = %s AND u.is_active AND u.token_generation = %s"
)


def _refused(status: int) -> JsonResponse:
    return JsonResponse({"error": "refused"}, status=status)


def _token_user(request: HttpRequest) -> tuple[Any, ...] | JsonResponse:
    """The contract's checks of a token request: signature and expiry, tenant, the user row with
    the revocation check (one statement), one counted request. The row, or the refusal."""
    slug = request.headers.get("X-Tenant-ID", "")
    try:
        claims = jwt.decode(
            request.headers.get("Authorization", "").removeprefix("Bearer "),
            settings.BENCH_JWT_KEY,
            algorithms=["HS256"],
        )
    except jwt.InvalidTokenError:
        return _refused(401)
    if claims.get("token_type") != "access" or claims.get("tenant") != slug or not slug.isalnum():
        return _refused(401)
    with connection.cursor() as cursor:
        cursor.execute(
            _TOKEN_USER.format(schema=f"t_{slug}"), [claims["jti"], int(claims["sub"]), claims.get("gen", 0)]
        )
        row = cursor.fetchone()
    if row is None or row[-1]:
        return _refused(401)
    if _count(keys=[f"bench:floor:{slug}"], args=[60_000]) > 10_000_000:
        return _refused(429)
    return tuple(row[:-1])


def me_floor(request: HttpRequest) -> JsonResponse:
    user = _token_user(request)
    if isinstance(user, JsonResponse):
        return user
    return JsonResponse(dict(zip(("id", "email", "first_name", "last_name", "role"), user, strict=True)))


def users_floor(request: HttpRequest) -> JsonResponse:
    user = _token_user(request)
    if isinstance(user, JsonResponse):
        return user
    return users_page(request)


def intake_floor(request: HttpRequest) -> JsonResponse:
    body = request.body
    msg_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    key = base64.b64decode(settings.BENCH_WEBHOOK_SECRET.removeprefix("whsec_"))
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signatures = [s.partition(",")[2] for s in request.headers["webhook-signature"].split(" ")]
    if not any(hmac.compare_digest(base64.b64decode(s), expected) for s in signatures if s):
        return _refused(401)
    if _count(keys=["bench:floor:webhooks"], args=[60_000]) > 100_000_000:
        return _refused(429)
    event = json.loads(body)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {EVENTS} (body) VALUES (%s::jsonb)", [body.decode()])  # noqa: S608
    _redis.set("bench:floor:kick", "1", nx=True, ex=30)
    return JsonResponse({"accepted": 1, "duplicates": 0, "id": event["id"]}, status=202)
