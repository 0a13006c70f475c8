"""Rate limits (contract section 6): per-tenant budget, login per IP and per email, Redis down."""

import logging

import pytest

from accounts.models import Role
from tenants.services import tenant_update
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient, free_port

pytestmark = pytest.mark.django_db

BUDGET = 3


@pytest.fixture
def frozen_window(monkeypatch):
    """One fixed rate-limit window for the whole test: a minute boundary can't reset a count halfway.

    The counters' Redis expiry follows the frozen clock, so it gets a generous margin.
    """
    import time as real_time

    from django_ratelimit import core

    now = real_time.time()
    monkeypatch.setattr(core, "time", type("FrozenTime", (), {"time": staticmethod(lambda: now)}))
    monkeypatch.setattr(core, "EXPIRATION_FUDGE", 300)


@pytest.fixture
def small_budget(settings, frozen_window):
    settings.SAAS_PLAN_RATE_LIMITS = {"free": BUDGET, "pro": 30, "enterprise": 300}


def test_budget_headers_then_429_with_retry_after(small_budget, tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.MEMBER))
    for remaining in range(BUDGET - 1, -1, -1):
        response = client.get("/api/v1/auth/me")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == str(BUDGET)
        assert response["X-RateLimit-Remaining"] == str(remaining)
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["Cache-Control"] == "no-store"


def test_every_tenant_route_and_routing_form_counts(small_budget, tenant_a):
    """Anonymous, failing and successful requests, by host, header or path, all spend one budget."""
    for via in ROUTING_FORMS:
        assert TenantClient(tenant_a, via=via).get("/api/v1/users/").status_code == 401
    for via in ROUTING_FORMS:
        assert TenantClient(tenant_a, via=via).get("/api/v1/users/").status_code == 429
    assert TenantClient(tenant_a).get("/health").status_code == 429


def test_a_second_tenant_is_unaffected(small_budget, tenant_a, tenant_b, make_user, client_for):
    alpha = client_for(tenant_a, make_user(tenant_a))
    for _ in range(BUDGET + 2):
        alpha.get("/api/v1/auth/me")
    assert alpha.get("/api/v1/auth/me").status_code == 429
    beta = client_for(tenant_b, make_user(tenant_b))
    response = beta.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == str(BUDGET - 1)


def test_spoofed_forwarded_for_does_not_reset_the_count(small_budget, tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a))
    for i in range(BUDGET):
        assert client.get("/api/v1/auth/me", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code == 200
    spoofed = client.get("/api/v1/auth/me", HTTP_X_FORWARDED_FOR="203.0.113.77", HTTP_X_REAL_IP="203.0.113.7")
    assert spoofed.status_code == 429


def test_plan_and_tenant_override_set_the_budget(small_budget, tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a))
    tenant_update(tenant=tenant_a, plan="pro")
    assert client.get("/api/v1/auth/me")["X-RateLimit-Limit"] == "30"
    tenant_update(tenant=tenant_a, rate_limit_per_minute=7)
    assert client.get("/api/v1/auth/me")["X-RateLimit-Limit"] == "7"


def test_default_plan_budgets(settings):
    assert settings.SAAS_PLAN_RATE_LIMITS == {"free": 600, "pro": 6000, "enterprise": 60000}


def test_platform_routes_carry_no_tenant_budget(small_budget, platform_admin, client_for):
    response = client_for(None, platform_admin).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


# --- login ----------------------------------------------------------------------------------


WRONG_PASSWORD = "wrong-password-here"


def login(tenant, email, password=WRONG_PASSWORD, **extra):
    return TenantClient(tenant).post("/api/v1/auth/login", {"email": email, "password": password}, **extra)


@pytest.mark.parametrize("on_platform", [False, True], ids=["tenant", "platform"])
def test_login_per_ip_ignores_spoofed_forwarded_for(frozen_window, settings, tenant_a, on_platform):
    settings.SAAS_LOGIN_RATE_PER_IP = "3/m"
    tenant = None if on_platform else tenant_a
    for i in range(3):
        response = login(tenant, f"nobody{i}@example.test", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 401
    response = login(tenant, "someone-else@example.test", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_login_per_ip_honours_a_trusted_proxy(frozen_window, settings, tenant_a):
    settings.SAAS_LOGIN_RATE_PER_IP = "3/m"
    settings.SAAS_TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(6):
        response = login(tenant_a, f"nobody{i}@example.test", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 401


def test_login_per_email_across_ips_even_with_the_right_password(
    frozen_window, settings, tenant_a, tenant_b, make_user
):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "2/m"
    user = make_user(tenant_a, email="target@example.test")
    make_user(tenant_b, email="target@example.test")
    for i in range(2):
        assert login(tenant_a, "Target@Example.test", REMOTE_ADDR=f"192.0.2.{i}").status_code == 401
    blocked = login(tenant_a, user.email, PASSWORD, REMOTE_ADDR="192.0.2.50")
    assert blocked.status_code == 429
    # The same email at another tenant is another key.
    assert login(tenant_b, user.email, PASSWORD, REMOTE_ADDR="192.0.2.51").status_code == 200


def test_platform_login_per_email(frozen_window, settings, platform_admin):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "2/m"
    for i in range(2):
        assert login(None, platform_admin.email, REMOTE_ADDR=f"192.0.2.{i}").status_code == 401
    assert login(None, platform_admin.email, PASSWORD, REMOTE_ADDR="192.0.2.9").status_code == 429


# --- Redis down -----------------------------------------------------------------------------


def test_redis_down_fails_open_with_a_warning(settings, tenant_a, make_user, client_for, caplog):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    import saas.ratelimits

    saas.ratelimits._last_warning = saas.ratelimits._skip_until = 0.0
    with caplog.at_level(logging.WARNING, logger="saas.ratelimits"):
        response = client.get("/api/v1/users/")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response
        login = TenantClient(tenant_a).post(
            "/api/v1/auth/login", {"email": "x@example.test", "password": "nope"}
        )
        assert login.status_code == 401
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
    assert saas.ratelimits._skip_until > 0  # the next few seconds skip the dead Redis
    saas.ratelimits._skip_until = 0.0
