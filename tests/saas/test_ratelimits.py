"""Rate limits: the tenant's budget counts its own principals only; strangers
spend a per-(tenant, IP) budget, webhooks a per-(tenant, service) one; sign-in per IP and email."""

import base64
import json
import logging
import time

import pytest
from django.test import Client

from accounts.models import Role
from tenants.services import tenant_update
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient, free_port
from tests.integrations.conftest import as_meta, signed_headers

pytestmark = pytest.mark.django_db

BUDGET = 5
STRANGER = "198.51.100.66"
NEIGHBOUR = "198.51.100.67"
OWNER_IP = "192.0.2.10"


@pytest.fixture
def small_budget(settings):
    settings.SAAS_PLAN_RATE_LIMITS = {"free": BUDGET, "pro": 30, "enterprise": 300}


def stranger(tenant, path="/api/v1/users/", ip=STRANGER, **extra):
    return TenantClient(tenant).get(path, REMOTE_ADDR=ip, **extra)


def page(tenant, path="/login/", ip=STRANGER, client=None):
    return (client or Client()).get(path, HTTP_HOST=f"{tenant.slug}.localhost", REMOTE_ADDR=ip)


# --- the tenant's budget: its authenticated principals only -----------------------------------


def test_budget_headers_then_429_with_retry_after(small_budget, tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.MEMBER))
    for remaining in range(BUDGET - 1, -1, -1):
        response = client.get("/api/v1/auth/me")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == str(BUDGET)
        assert response["X-RateLimit-Remaining"] == str(remaining)
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "rate_limited"
    assert body["details"]["limit"] == BUDGET
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["details"]["retry_after"] == int(response["Retry-After"])
    assert response["X-RateLimit-Limit"] == str(BUDGET)
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["Cache-Control"] == "no-store"


def test_strangers_never_make_the_owner_or_the_sign_in_page_answer_429(
    small_budget, settings, tenant_a, make_user, client_for
):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "3/m"
    for _ in range(12):  # more than the tenant's budget and the stranger's own
        assert stranger(tenant_a).status_code in (401, 429)
    assert stranger(tenant_a).status_code == 429
    owner = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    for _ in range(BUDGET):
        response = owner.get("/api/v1/users/", REMOTE_ADDR=STRANGER)  # even from the stranger's address
        assert response.status_code == 200
    assert page(tenant_a).status_code == 200
    assert page(tenant_a, ip=OWNER_IP).status_code == 200


def test_the_sign_in_page_is_never_refused(small_budget, settings, tenant_a):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "2/m"
    for _ in range(6):
        response = page(tenant_a)
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response


def test_an_anonymous_ip_over_its_budget_does_not_limit_another(settings, tenant_a, tenant_b):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "3/m"
    for remaining in (2, 1, 0):
        response = stranger(tenant_a)
        assert response.status_code == 401
        assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("3", str(remaining))
    limited = stranger(tenant_a)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert limited["Content-Type"] == "application/json"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert stranger(tenant_a, ip=NEIGHBOUR).status_code == 401
    # Browser pages spend the same per-address budget (and say so in HTML); the twin keeps its own.
    refused_page = page(tenant_a, path="/")
    assert refused_page.status_code == 429
    assert refused_page["Content-Type"].startswith("text/html")
    assert int(refused_page["Retry-After"]) >= 1
    assert stranger(tenant_b).status_code == 401
    assert page(tenant_b, path="/").status_code == 302


def test_bad_tokens_count_as_anonymous(small_budget, settings, tenant_a, tenant_b, make_user, client_for):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "3/m"
    foreign = client_for(tenant_b, make_user(tenant_b, Role.OWNER)).client._credentials
    for header in ("Bearer not-a-token", "Bearer x.y.z", foreign["HTTP_AUTHORIZATION"]):
        assert stranger(tenant_a, HTTP_AUTHORIZATION=header).status_code == 401
    assert stranger(tenant_a, HTTP_AUTHORIZATION="Bearer again").status_code == 429
    owner = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    assert owner.get("/api/v1/users/", REMOTE_ADDR=STRANGER)["X-RateLimit-Remaining"] == str(BUDGET - 1)


def test_spoofed_forwarded_for_does_not_reset_an_anonymous_count(settings, tenant_a):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "3/m"
    for i in range(3):
        assert stranger(tenant_a, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code == 401
    assert (
        stranger(tenant_a, HTTP_X_FORWARDED_FOR="203.0.113.77", HTTP_X_REAL_IP="203.0.113.7").status_code
        == 429
    )


def test_every_routing_form_spends_one_tenant_budget(small_budget, tenant_a, make_user, client_for):
    user = make_user(tenant_a, Role.MEMBER)
    for via in ROUTING_FORMS:
        assert client_for(tenant_a, user, via=via).get("/api/v1/users/").status_code == 200
    seen = [client_for(tenant_a, user, via=via).get("/api/v1/users/") for via in ROUTING_FORMS]
    assert [r.status_code for r in seen] == [200, 200, 429]


def test_a_platform_admin_on_a_tenant_route_spends_the_tenant_budget(
    small_budget, tenant_a, platform_admin, client_for
):
    response = client_for(tenant_a, platform_admin).get("/api/v1/users/")
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == str(BUDGET)


def test_a_browser_session_spends_the_tenant_budget(small_budget, tenant_a, make_user):
    user = make_user(tenant_a, Role.OWNER)
    browser = Client()
    signed_in = browser.post(
        "/login/", {"email": user.email, "password": PASSWORD}, HTTP_HOST=f"{tenant_a.slug}.localhost"
    )
    assert signed_in.status_code == 302
    for remaining in range(BUDGET - 1, -1, -1):
        home = page(tenant_a, path="/", ip=OWNER_IP, client=browser)
        assert home.status_code == 200
        assert home["X-RateLimit-Remaining"] == str(remaining)
    assert page(tenant_a, path="/", ip=OWNER_IP, client=browser).status_code == 429


def test_a_second_tenant_is_unaffected(small_budget, tenant_a, tenant_b, make_user, client_for):
    alpha = client_for(tenant_a, make_user(tenant_a))
    for _ in range(BUDGET + 2):
        alpha.get("/api/v1/auth/me")
    assert alpha.get("/api/v1/auth/me").status_code == 429
    beta = client_for(tenant_b, make_user(tenant_b))
    response = beta.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == str(BUDGET - 1)


def test_plan_and_tenant_override_set_the_budget(small_budget, tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a))
    tenant_update(tenant=tenant_a, plan="pro")
    assert client.get("/api/v1/auth/me")["X-RateLimit-Limit"] == "30"
    tenant_update(tenant=tenant_a, rate_limit_per_minute=7)
    assert client.get("/api/v1/auth/me")["X-RateLimit-Limit"] == "7"


def test_default_budgets(settings):
    assert settings.SAAS_PLAN_RATE_LIMITS == {"free": 600, "pro": 6000, "enterprise": 60000}
    assert settings.SAAS_ANONYMOUS_RATE_PER_IP == "120/m"
    assert settings.SAAS_WEBHOOK_RATE_PER_SERVICE == "1200/m"


def test_platform_routes_carry_no_tenant_budget(small_budget, platform_admin, client_for):
    response = client_for(None, platform_admin).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


# --- waiting Retry-After gets through ---------------------------------------------------------


def test_waiting_retry_after_gets_the_owner_through(small_budget, settings, tenant_a, make_user, client_for):
    settings.SAAS_RATE_LIMIT_WINDOW_SECONDS = 5  # the plans' minute, shortened so the test can wait it
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    for _ in range(BUDGET):
        assert client.get("/api/v1/auth/me").status_code == 200
    limited = client.get("/api/v1/auth/me")
    assert limited.status_code == 429
    time.sleep(int(limited["Retry-After"]))
    assert client.get("/api/v1/auth/me").status_code == 200


def test_waiting_retry_after_gets_a_stranger_through(settings, tenant_a):
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "2/4s"  # short enough to wait, long enough for 3 requests
    for _ in range(2):
        for _ in range(2):
            assert stranger(tenant_a).status_code == 401
        limited = stranger(tenant_a)
        assert limited.status_code == 429
        assert limited.json()["error"]["details"]["retry_after"] == int(limited["Retry-After"])
        time.sleep(int(limited["Retry-After"]))


def test_retry_after_rounds_the_time_left_up():
    from saas.ratelimits import retry_after_seconds

    assert [retry_after_seconds(ms) for ms in (1, 999, 1000, 1001, 59_001, 0, -2)] == [1, 1, 1, 2, 60, 1, 1]


# --- webhooks: a budget per (tenant, service) -------------------------------------------------


def test_webhook_floods_never_limit_users_and_stay_per_service(
    small_budget, settings, tenant_a, tenant_b, make_user, client_for
):
    settings.SAAS_WEBHOOK_RATE_PER_SERVICE = "4/m"
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "2/m"
    body = json.dumps({"id": "evt_1", "type": "user.updated", "data": {}}).encode()
    forged = as_meta(
        signed_headers("whsec_" + base64.b64encode(b"not-the-secret-32-bytes-long!!!!").decode(), body)
    )

    def flood(tenant, service):
        return TenantClient(tenant).post(
            f"/api/v1/webhooks/{service}/",
            body,
            content_type="application/json",
            REMOTE_ADDR=STRANGER,
            **forged,
        )

    statuses = [flood(tenant_a, "user-service").status_code for _ in range(12)]
    assert statuses == [401] * 4 + [429] * 8
    assert flood(tenant_a, "payment-service").status_code == 401  # another service: its own budget
    assert flood(tenant_b, "user-service").status_code == 401  # another tenant: its own budget
    owner = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    assert owner.get("/api/v1/users/", REMOTE_ADDR=STRANGER)["X-RateLimit-Remaining"] == str(BUDGET - 1)
    assert page(tenant_a).status_code == 200


# --- login ----------------------------------------------------------------------------------


WRONG_PASSWORD = "wrong-password-here"


def login(tenant, email, password=WRONG_PASSWORD, **extra):
    return TenantClient(tenant).post("/api/v1/auth/login", {"email": email, "password": password}, **extra)


@pytest.mark.parametrize("on_platform", [False, True], ids=["tenant", "platform"])
def test_login_per_ip_ignores_spoofed_forwarded_for(settings, tenant_a, on_platform):
    settings.SAAS_LOGIN_RATE_PER_IP = "3/m"
    tenant = None if on_platform else tenant_a
    for i in range(3):
        response = login(tenant, f"nobody{i}@example.test", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 401
    response = login(tenant, "someone-else@example.test", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_login_per_ip_honours_a_trusted_proxy(settings, tenant_a):
    settings.SAAS_LOGIN_RATE_PER_IP = "3/m"
    settings.SAAS_TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(6):
        response = login(tenant_a, f"nobody{i}@example.test", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 401


def test_login_per_email_across_ips_even_with_the_right_password(settings, tenant_a, tenant_b, make_user):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "2/m"
    user = make_user(tenant_a, email="target@example.test")
    make_user(tenant_b, email="target@example.test")
    for i in range(2):
        assert login(tenant_a, "Target@Example.test", REMOTE_ADDR=f"192.0.2.{i}").status_code == 401
    blocked = login(tenant_a, user.email, PASSWORD, REMOTE_ADDR="192.0.2.50")
    assert blocked.status_code == 429
    # The same email at another tenant is another key.
    assert login(tenant_b, user.email, PASSWORD, REMOTE_ADDR="192.0.2.51").status_code == 200


def test_platform_login_per_email(settings, platform_admin):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "2/m"
    for i in range(2):
        assert login(None, platform_admin.email, REMOTE_ADDR=f"192.0.2.{i}").status_code == 401
    assert login(None, platform_admin.email, PASSWORD, REMOTE_ADDR="192.0.2.9").status_code == 429


def test_sign_in_does_not_spend_the_anonymous_budget(settings, tenant_a, make_user):
    """Sign-in has its own per-IP and per-email limits; a stranger's flood must not close it."""
    settings.SAAS_ANONYMOUS_RATE_PER_IP = "2/m"
    user = make_user(tenant_a)
    for _ in range(4):
        stranger(tenant_a)
    assert login(tenant_a, user.email, PASSWORD, REMOTE_ADDR=STRANGER).status_code == 200


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
        saas.ratelimits._skip_until = 0.0
        assert stranger(tenant_a).status_code == 401
        login = TenantClient(tenant_a).post(
            "/api/v1/auth/login", {"email": "x@example.test", "password": "nope"}
        )
        assert login.status_code == 401
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
    assert saas.ratelimits._skip_until > 0  # the next few seconds skip the dead Redis
    saas.ratelimits._skip_until = 0.0
