"""The baseline: a bare DRF view listing the same rows from a plain table (no tenant, auth, limits)."""

from django.db import connection
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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
