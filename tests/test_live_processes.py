"""The shared live-process fixtures work: a real gunicorn server and a real Celery worker."""

import requests

from saas.celery import app


def test_live_server_routes_a_committed_tenant(live_server_url, fresh_tenant):
    response = requests.get(
        f"{live_server_url}/api/v1/auth/me", headers={"Host": f"{fresh_tenant.slug}.localhost"}, timeout=5
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_celery_worker_answers(celery_worker):
    assert app.control.ping(timeout=1)


def test_committed_tests_run_on_the_test_database(committed_db):
    """Even a run made only of committed-data tests works on the test database, never DATABASE_URL's."""
    from django.db import connection

    assert connection.settings_dict["NAME"].startswith("test_")
