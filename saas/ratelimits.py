"""Rate limits on Redis with django-ratelimit (contract section 6).

- Every tenant route counts against its tenant's budget per minute: the plan's figure
  (SAAS_PLAN_RATE_LIMITS) unless `Tenant.rate_limit_per_minute` overrides it. Answers carry
  `X-RateLimit-Limit` and `X-RateLimit-Remaining`; over budget, 429 `rate_limited` with `Retry-After`.
- Login counts per client IP and per (tenant, email), on tenant and platform routes.

Counters are fixed one-minute windows (django-ratelimit: Redis SET NX + atomic INCR, so concurrent
requests each get their own count and no more than the budget get through). Redis down: the
limit is not enforced (fail open) and a warning is logged, at most once per ten seconds per process;
the routes keep answering, and for five seconds after a failure the limiter does not even try
Redis, so requests don't each wait for a connection timeout.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage
from rest_framework.exceptions import Throttled

from tenants.models import Tenant

from .exceptions import error_response
from .net import client_ip

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 10.0
_RETRY_REDIS_AFTER_SECONDS = 5.0  # after a failure, don't make every request wait on a dead Redis
_last_warning = 0.0
_skip_until = 0.0


def tenant_budget(tenant: Tenant) -> int:
    """Requests per minute for this tenant: its own override, else its plan's figure."""
    if tenant.rate_limit_per_minute:
        return int(tenant.rate_limit_per_minute)
    plans: dict[str, int] = settings.SAAS_PLAN_RATE_LIMITS
    return int(plans.get(tenant.plan, plans["free"]))


def _redis_failed(group: str, exc: Exception) -> None:
    global _last_warning, _skip_until
    now = time.monotonic()
    _skip_until = now + _RETRY_REDIS_AFTER_SECONDS
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning(
            "rate limit not enforced: Redis unavailable",
            extra={"group": group, "error": type(exc).__name__},
        )


def hit(request: HttpRequest, *, group: str, key: str, rate: str | tuple[int, int]) -> dict[str, Any] | None:
    """Counts one request under `group`/`key`; the usage dict, or None when Redis can't be reached."""
    if time.monotonic() < _skip_until:
        return None
    try:
        usage = get_usage(request, group=group, key=lambda _g, _r: key, rate=rate, increment=True)
    except Exception as exc:  # Redis down or timing out: fail open, never a 500
        _redis_failed(group, exc)
        return None
    return usage


def retry_after(usage: dict[str, Any]) -> int:
    return max(1, int(usage["time_left"]))


def check_login_limits(request: HttpRequest, *, tenant: Tenant | None, email: str) -> None:
    """Counts a login attempt per client IP and per (tenant, email); 429 (DRF Throttled) over either."""
    scope = tenant.slug if tenant is not None else "-platform-"
    checks = (
        ("login-ip", client_ip(request), settings.SAAS_LOGIN_RATE_PER_IP),
        ("login-email", f"{scope}:{email}", settings.SAAS_LOGIN_RATE_PER_EMAIL),
    )
    for group, key, rate in checks:
        usage = hit(request, group=group, key=key, rate=rate)
        if usage is not None and usage["should_limit"]:
            raise Throttled(wait=retry_after(usage))


class TenantRateLimitMiddleware:
    """Counts every request routed to a tenant; runs right after tenant routing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "tenant", None)
        if tenant is None:
            return self.get_response(request)
        budget = tenant_budget(tenant)
        usage = hit(request, group="tenant", key=str(tenant.pk), rate=(budget, 60))
        if usage is None:
            return self.get_response(request)
        remaining = max(0, budget - int(usage["count"]))
        if usage["should_limit"]:
            seconds = retry_after(usage)
            response: HttpResponse = error_response(
                "rate_limited",
                "This tenant's request budget is used up; try again later.",
                429,
                {"limit": budget, "retry_after": seconds},
            )
            response["Retry-After"] = str(seconds)
        else:
            response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(budget)
        response["X-RateLimit-Remaining"] = str(remaining)
        return response
