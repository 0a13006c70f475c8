"""`/metrics` access: open in development, bearer token and/or client networks when configured,
and a `check --deploy` error in production when neither is."""

import subprocess
import sys

import pytest
from django.test import Client

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789-abcdefghij"


def scrape(**headers: str):  # type: ignore[no-untyped-def]
    return Client(HTTP_HOST="localhost", **headers).get("/metrics")


def assert_envelope(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert b"acme" not in response.content


def test_open_in_development_when_nothing_is_configured(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    response = scrape()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_a_configured_token_is_required(settings):
    settings.METRICS_TOKEN = TOKEN
    missing = scrape()
    assert_envelope(missing, 401, "not_authenticated")
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert_envelope(scrape(HTTP_AUTHORIZATION="Bearer wrong-token"), 401, "not_authenticated")
    assert_envelope(scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}x"), 401, "not_authenticated")
    assert_envelope(scrape(HTTP_AUTHORIZATION=f"Basic {TOKEN}"), 401, "not_authenticated")
    right = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200
    assert b"django_http_requests_total_by_method_total" in right.content


def test_the_network_allow_list(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16", "::1/128"]
    assert_envelope(scrape(REMOTE_ADDR="127.0.0.1"), 403, "permission_denied")
    assert scrape(REMOTE_ADDR="10.20.3.4").status_code == 200
    assert scrape(REMOTE_ADDR="::1").status_code == 200


def test_the_allow_list_sees_the_client_behind_a_trusted_proxy(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.SAAS_TRUSTED_PROXIES = ["127.0.0.1"]
    inside = scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert inside.status_code == 200
    outside = scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert_envelope(outside, 403, "permission_denied")
    # Without a trusted proxy the forwarded header is the client's own claim: ignored.
    settings.SAAS_TRUSTED_PROXIES = []
    spoofed = scrape(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert_envelope(spoofed, 403, "permission_denied")


def test_token_and_networks_both_apply_when_both_are_set(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    good = f"Bearer {TOKEN}"
    assert scrape(REMOTE_ADDR="10.20.3.4", HTTP_AUTHORIZATION=good).status_code == 200
    assert_envelope(scrape(REMOTE_ADDR="10.20.3.4"), 401, "not_authenticated")
    assert_envelope(scrape(REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION=good), 403, "permission_denied")


def test_production_without_either_refuses_to_serve(settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert_envelope(scrape(), 403, "metrics_not_configured")


def run_check_deploy(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "saas.settings.base",
        "SECRET_KEY": "p" * 20 + "-long-and-random-production-secret-0123456789",
        "METRICS_TOKEN": "",
        "METRICS_ALLOWED_NETWORKS": "",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_fails_in_production_without_metrics_protection():
    result = run_check_deploy()
    assert result.returncode != 0
    assert "saas.E001" in result.stderr
    assert "METRICS_TOKEN" in result.stderr


@pytest.mark.parametrize(
    "extra",
    [{"METRICS_TOKEN": TOKEN}, {"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,fd00::/8"}],
    ids=["token", "networks"],
)
def test_check_deploy_passes_with_metrics_protection(extra):
    result = run_check_deploy(**extra)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_reports_a_bad_network_and_a_short_token():
    bad = run_check_deploy(METRICS_ALLOWED_NETWORKS="10.0.0.0/8,not-a-network")
    assert bad.returncode != 0
    assert "saas.E002" in bad.stderr
    short = run_check_deploy(METRICS_TOKEN="short")
    assert short.returncode != 0
    assert "saas.W003" in short.stderr


def test_database_series_are_exported(tenant_a):
    from accounts.models import User

    User.objects.count()  # at least one query through the instrumented backend
    text = scrape().content.decode()
    assert "django_db_execute_total" in text
    assert "django_db_new_connections_total" in text
