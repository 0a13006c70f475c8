"""Health, readiness, docs, error envelope, request ids and the set-up script."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_reports_each_dependency(client):
    body = client.get("/health/ready").json()
    assert body["checks"]["postgresql"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert "celery" in body["checks"]


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/tenants/" in schema.content
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert client.get("/redoc").status_code == 200


@pytest.mark.django_db
def test_api_404_and_405_use_the_error_envelope(client):
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/auth/login")
    assert wrong.status_code == 405
    assert set(wrong.json()["error"]) == {"code", "message", "details"}


def test_request_id_is_honoured_or_made(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    made = client.get("/health", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert made
    assert made != "bad id\n"


def test_request_log_is_one_json_line(client, caplog):
    from saas.logging import JsonFormatter

    with caplog.at_level("INFO", logger="saas.request"):
        client.get("/health", HTTP_X_REQUEST_ID="log-me")
    record = next(r for r in caplog.records if r.name == "saas.request")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "log-me"
    assert line["status"] == 200
    assert {"tenant", "user", "duration_ms"} <= set(line)


def test_setup_script_stops_with_a_clear_message_when_database_url_is_closed(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/saas"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "DATABASE_URL=postgres://postgres@127.0.0.1:1/saas is set, but nothing answers" in result.stderr


def test_setup_script_names_what_to_install_when_nothing_is_there(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    import services  # type: ignore[import-not-found]

    monkeypatch.setattr(services, "answers", lambda *a, **k: False)
    monkeypatch.setattr(services, "find_binary", lambda name: None)
    monkeypatch.setattr(services, "configured", lambda name: None)
    monkeypatch.setattr(services.shutil, "which", lambda name: None)
    with pytest.raises(services.SetupError, match="apt-get install postgresql"):
        services.start_private_postgres()
    with pytest.raises(services.SetupError, match="apt-get install redis-server"):
        services.start_private_redis()


@pytest.mark.django_db
def test_production_settings_pass_check_deploy():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "saas.settings.base",
        "SECRET_KEY": "p" * 20 + "-long-and-random-production-secret-0123456789",
        "METRICS_TOKEN": "scrape-token-0123456789-abcdefghij",  # required in production (saas.E001)
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_setup_takes_a_non_superuser_database_url_as_the_app_role(django_db_setup):
    """The old form (a superuser DATABASE_URL) makes both roles; any other role is the app role as given,
    and then the set-up wants the owner's URL too."""
    from tests.conftest import database_url_for_subprocess, owner_database_url

    sys.path.insert(0, str(ROOT / "scripts"))
    import services  # type: ignore[import-not-found]

    app, owner = database_url_for_subprocess(), owner_database_url()
    assert not services.is_superuser(app)
    with pytest.raises(services.SetupError, match="set MIGRATION_DATABASE_URL to the owner role"):
        services.database_roles(app, None)
    assert services.database_roles(app, owner) == (app, owner)
