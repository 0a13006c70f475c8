"""Liveness and readiness."""

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from saas.celery import app


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok"}
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}


def _check_redis() -> dict[str, Any]:
    try:
        cache.client.get_client(write=True).ping()  # type: ignore[attr-defined]
        return {"status": "ok"}
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}


def _check_workers() -> dict[str, Any]:
    try:
        replies = app.control.ping(timeout=1.0, limit=1)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    if not replies:
        return {"status": "down", "workers": 0}
    return {"status": "ok", "workers": len(replies)}


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {"postgresql": _check_database(), "redis": _check_redis()}
    checks["celery"] = _check_workers() if checks["redis"]["status"] == "ok" else {"status": "unknown"}
    ok = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
