"""Rate limits on Redis: who spends which budget, counted after authentication.

- **The tenant's budget** (per minute: the plan's figure in SAAS_PLAN_RATE_LIMITS unless
  `Tenant.rate_limit_per_minute` overrides it) is spent only by the tenant's authenticated
  principals: whoever a DRF authentication class put in `request.user` (JWT users, platform admins
  on tenant routes; an API-key class plugs in by setting `request.user` too) and browser sessions
  on tenant pages.
- **Anonymous requests** spend a budget per (tenant, client IP), SAAS_ANONYMOUS_RATE_PER_IP;
  requests whose credentials are refused count here too.
- **Webhook intake** spends a budget per (tenant, service), SAAS_WEBHOOK_RATE_PER_SERVICE.
- **Sign-in** (API login, `/login/`, the admin login forms, SSO completion) counts per client IP
  and per (tenant, email) in `login_limits_check`, and spends nothing else: so nothing a stranger
  sends closes the sign-in page, or the tenant's API to its signed-in users.

Where: DRF views count in `TenantRateThrottle` (after authentication); a DRF request refused
before the throttle step (401/403) is counted by the middleware on its way out, and answered 429
when over. Plain Django views (pages, admin) count in `RateLimitMiddleware.process_view`, which
sees the session user. A view may declare its own counter with `counted_by` (webhooks) or none.

Counters are fixed windows that open at a key's first request: one Lua script does INCR and sets
the expiry, atomically (concurrent requests each get their own count, no more than the budget get
through) and in one Redis round trip. `Retry-After` is the key's remaining lifetime rounded up to
the second, so a client that waits exactly that long always meets a new window. Answers that were
counted carry `X-RateLimit-Limit` and `X-RateLimit-Remaining`.

Redis down: nothing is enforced (fail open) and a warning is logged, at most once per ten seconds
per process; for five seconds after a failure the limiter does not even try Redis, so requests
don't each wait for a connection timeout.
"""

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from redis.commands.core import Script
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from tenants.models import Tenant

from .errors import error_for
from .net import client_ip
from .typing import request_tenant, routed_tenant

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 10.0
_RETRY_REDIS_AFTER_SECONDS = 5.0  # after a failure, don't make every request wait on a dead Redis
_last_warning = 0.0
_skip_until = 0.0

# Per key: count it, and open its window (expiry in ms) on the first count. Returns count, ms left.
_COUNT_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if n == 1 or ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('PEXPIRE', key, ttl)
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""
_script: Script | None = None

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_MESSAGES = {
    "tenant": "This tenant's request budget is used up; try again later.",
    "anonymous": "Too many requests from your address; try again later.",
    "webhook": "Too many deliveries for this service; try again later.",
    "login-ip": "Too many sign-in attempts; try again later.",
    "login-email": "Too many sign-in attempts; try again later.",
}


@dataclass(frozen=True)
class Counter:
    """One budget: `limit` requests per `period` seconds under (group, key)."""

    group: str
    key: str
    limit: int
    period: int

    @property
    def redis_key(self) -> str:
        # Hashed: keys hold client IPs and emails, which need not sit in Redis in clear.
        digest = hashlib.sha256(f"{self.group}|{self.period}|{self.key}".encode()).hexdigest()[:32]
        return f"{settings.SAAS_RATE_LIMIT_KEY_PREFIX}{self.group}:{digest}"


@dataclass(frozen=True)
class Usage:
    counter: Counter
    count: int
    ms_left: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.counter.limit

    @property
    def remaining(self) -> int:
        return max(0, self.counter.limit - self.count)

    @property
    def retry_after(self) -> int:
        return retry_after_seconds(self.ms_left)


class RateLimited(Throttled):
    """429 `rate_limited`, with `Retry-After` and the budget in the envelope's details."""

    wait: int | None  # whole seconds, set by Throttled (whose stub leaves the attribute out)

    def __init__(self, usage: Usage) -> None:
        super().__init__(wait=usage.retry_after, detail=_MESSAGES.get(usage.counter.group))
        self.usage = usage
        self.details = {"limit": usage.counter.limit, "retry_after": usage.retry_after}


def retry_after_seconds(ms_left: int) -> int:
    """Whole seconds to wait: the window's remaining time rounded up (at least 1)."""
    return max(1, math.ceil(ms_left / 1000))


def parse_rate(rate: str) -> tuple[int, int]:
    """`"120/m"`, `"5/2s"`, `"1000/h"` -> (limit, period in seconds)."""
    match = _RATE_RE.match(rate)
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (expected e.g. 120/m or 5/10s)")
    count, multiple, unit = match.groups()
    return int(count), _PERIODS[unit] * int(multiple or 1)


def tenant_budget(tenant: Tenant) -> int:
    """Requests per minute for this tenant: its own override, else its plan's figure."""
    if tenant.rate_limit_per_minute:
        return int(tenant.rate_limit_per_minute)
    plans: dict[str, int] = settings.SAAS_PLAN_RATE_LIMITS
    return int(plans.get(tenant.plan, plans["free"]))


def _redis_failed(exc: Exception) -> None:
    global _last_warning, _skip_until
    now = time.monotonic()
    _skip_until = now + _RETRY_REDIS_AFTER_SECONDS
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("rate limit not enforced: Redis unavailable", extra={"error": type(exc).__name__})


def counters_hit(counters: list[Counter]) -> list[Usage] | None:
    """Counts one request against each counter in one round trip; None when Redis can't be reached."""
    global _script
    if time.monotonic() < _skip_until:
        return None
    try:
        client = get_redis_connection("default")
        if _script is None:
            _script = client.register_script(_COUNT_LUA)
        flat = _script(
            keys=[c.redis_key for c in counters], args=[c.period * 1000 for c in counters], client=client
        )
    except Exception as exc:  # Redis down or timing out: fail open, never a 500
        _redis_failed(exc)
        return None
    return [Usage(c, int(flat[2 * i]), int(flat[2 * i + 1])) for i, c in enumerate(counters)]


# --- who spends what --------------------------------------------------------------------------


def principal_counter(tenant: Tenant) -> Counter:
    return Counter("tenant", str(tenant.pk), tenant_budget(tenant), settings.SAAS_RATE_LIMIT_WINDOW_SECONDS)


def anonymous_counter(request: HttpRequest, tenant: Tenant) -> Counter:
    limit, period = parse_rate(settings.SAAS_ANONYMOUS_RATE_PER_IP)
    return Counter("anonymous", f"{tenant.pk}:{client_ip(request)}", limit, period)


def request_counter(request: HttpRequest, *, user: Any) -> Counter:
    """The tenant's budget for its authenticated principals, else the caller's per-IP budget."""
    tenant = routed_tenant(request)
    if user is not None and getattr(user, "is_authenticated", False):
        return principal_counter(tenant)
    return anonymous_counter(request, tenant)


def webhook_counter(request: HttpRequest, view_kwargs: dict[str, Any]) -> Counter:
    """Webhook intake: per (tenant, service), whatever the signature turns out to be."""
    limit, period = parse_rate(settings.SAAS_WEBHOOK_RATE_PER_SERVICE)
    tenant = routed_tenant(request)
    return Counter("webhook", f"{tenant.pk}:{view_kwargs.get('service', '')}", limit, period)


CounterFor = Callable[[HttpRequest, dict[str, Any]], Counter]
_UNDECLARED: Any = object()
V = TypeVar("V")


def counted_by(counter_for: CounterFor | None) -> Callable[[V], V]:
    """Declares what a view's requests spend instead of the requester's budget (None: nothing,
    for sign-in views, which `login_limits_check` counts per IP and per email)."""

    def mark(view: V) -> V:
        view.rate_limit_counter = counter_for  # type: ignore[attr-defined]
        return view

    return mark


def _declared(view_func: Any) -> Any:
    declared = getattr(view_func, "rate_limit_counter", _UNDECLARED)
    if declared is _UNDECLARED:  # a DRF class-based view: the class carries it
        declared = getattr(getattr(view_func, "cls", None), "rate_limit_counter", _UNDECLARED)
    return declared


def _is_drf(view_func: Any) -> bool:
    # DRF's as_view (APIView, viewsets, @api_view) marks its view with `cls`; Django's does not.
    # (Not an issubclass check: importing rest_framework.views here would import this module back.)
    return isinstance(getattr(view_func, "cls", None), type)


def charge(request: HttpRequest, counter: Counter) -> Usage | None:
    """Counts this request once, against `counter`; the usage is kept for the answer's headers."""
    request._rate_limit_counted = True  # type: ignore[attr-defined]
    usages = counters_hit([counter])
    usage = usages[0] if usages else None
    request._rate_limit_usage = usage  # type: ignore[attr-defined]
    return usage


def _counted(request: HttpRequest) -> bool:
    return bool(getattr(request, "_rate_limit_counted", False))


def too_many(request: HttpRequest, usage: Usage) -> HttpResponse:
    """429 `rate_limited`: the JSON envelope on `/api/`, the HTML error page on browser paths."""
    seconds = usage.retry_after
    response: HttpResponse = error_for(
        request,
        "rate_limited",
        _MESSAGES.get(usage.counter.group, "Too many requests; try again later."),
        429,
        {"limit": usage.counter.limit, "retry_after": seconds},
    )
    response["Retry-After"] = str(seconds)
    return response


class TenantRateThrottle(BaseThrottle):
    """DRF views on tenant routes: counts the authenticated principal (or the anonymous caller)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        django_request = request._request
        if getattr(django_request, "tenant", None) is None or _counted(django_request):
            return True
        declared = getattr(type(view), "rate_limit_counter", _UNDECLARED)  # the function, unbound
        if declared is None:
            return True
        if declared is _UNDECLARED:
            counter = request_counter(django_request, user=request.user)
        else:
            counter = declared(django_request, getattr(view, "kwargs", {}))
        usage = charge(django_request, counter)
        if usage is not None and usage.exceeded:
            raise RateLimited(usage)
        return True


class RateLimitMiddleware:
    """Counts plain Django views by the session user, DRF refusals on their way out; adds headers.

    Sits after AuthenticationMiddleware (it reads the session user).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_rate_limit_drf", False) and not _counted(request):
            # DRF refused it before its throttle step (bad or missing credentials, 401/403):
            # it still costs the caller; over the budget, the answer becomes the 429.
            usage = charge(request, request_counter(request, user=getattr(request, "user", None)))
            if usage is not None and usage.exceeded:
                response = too_many(request, usage)
        usage = getattr(request, "_rate_limit_usage", None)
        if usage is not None:
            response["X-RateLimit-Limit"] = str(usage.counter.limit)
            response["X-RateLimit-Remaining"] = str(usage.remaining)
            if response.status_code == 429 and not response.has_header("Retry-After"):
                response["Retry-After"] = str(usage.retry_after)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        if request_tenant(request) is None:
            return None  # platform routes carry no tenant budget
        declared = _declared(view_func)
        if declared is None:
            request._rate_limit_counted = True  # type: ignore[attr-defined]
            return None
        if declared is not _UNDECLARED:
            counter = declared(request, view_kwargs)
        elif _is_drf(view_func):
            request._rate_limit_drf = True  # type: ignore[attr-defined]
            return None  # counted by TenantRateThrottle, after DRF's authentication
        else:
            counter = request_counter(request, user=getattr(request, "user", None))
        usage = charge(request, counter)
        if usage is not None and usage.exceeded:
            return too_many(request, usage)
        return None


def login_limits_check(request: HttpRequest, *, tenant: Tenant | None, email: str | None) -> None:
    """Counts a sign-in attempt per client IP and per (tenant, email); RateLimited (429) over either.

    Without an email (SSO completion) only the per-IP limit applies.
    """
    scope = tenant.slug if tenant is not None else "-platform-"
    counters = [Counter("login-ip", client_ip(request), *parse_rate(settings.SAAS_LOGIN_RATE_PER_IP))]
    if email is not None:
        counters.append(
            Counter("login-email", f"{scope}:{email}", *parse_rate(settings.SAAS_LOGIN_RATE_PER_EMAIL))
        )
    over = [usage for usage in counters_hit(counters) or [] if usage.exceeded]
    if over:
        raise RateLimited(max(over, key=lambda usage: usage.ms_left))
