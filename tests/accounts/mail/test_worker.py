"""Mail through real processes: the request answers, its commit publishes the send, a real Celery
worker renders the mail in the tenant's schema and hands it to a real SMTP server on 127.0.0.1; with
the server down the mail waits, and the sweep sends it once the server is back."""

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.mail import services
from accounts.mail.models import Email, EmailStatus
from accounts.mail.services import emails_sweep
from tests.conftest import TenantClient, start_worker, stop_worker, wait_for


@pytest.fixture
def mail_worker(smtp_server: Any, django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker whose EMAIL_URL is the test SMTP server."""
    proc, _ = start_worker(EMAIL_URL=smtp_server.url)
    try:
        yield proc
    finally:
        stop_worker(proc)


def status_of(tenant: Any, email: str) -> str | None:
    with schema_context(tenant.schema_name):
        return Email.objects.filter(to=email).values_list("status", flat=True).first()


def test_a_reset_request_is_mailed_by_the_worker_after_the_commit(
    fresh_tenant, committed_db, smtp_server, mail_worker
):
    owner = f"owner@{fresh_tenant.slug}.test"
    response = TenantClient(fresh_tenant).post("/api/v1/auth/password/reset", {"email": owner})
    assert response.status_code == 202
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == owner
    assert fresh_tenant.name in message["Subject"]
    link = next(link for link in smtp_server.links(message) if "/password/reset/" in link)
    assert re.fullmatch(rf"http://{fresh_tenant.slug}\.localhost:8000/password/reset/[0-9a-z-]+/", link)
    wait_for(lambda: status_of(fresh_tenant, owner) == EmailStatus.SENT, what="the row marked sent")


def test_a_mail_whose_publish_failed_is_sent_by_the_sweep(
    fresh_tenant, committed_db, smtp_server, mail_worker, monkeypatch
):
    owner = f"owner@{fresh_tenant.slug}.test"
    monkeypatch.setattr(services, "_broker_down_until", float("inf"))  # as after a failed publish
    assert TenantClient(fresh_tenant).post("/api/v1/auth/password/reset", {"email": owner}).status_code == 202
    assert status_of(fresh_tenant, owner) == EmailStatus.QUEUED
    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    with schema_context(fresh_tenant.schema_name):
        assert emails_sweep() == 1  # what beat's per-tenant sweep does
    assert smtp_server.wait_for(1)[0]["To"] == owner


def test_while_the_smtp_server_is_down_nothing_is_lost(fresh_tenant, committed_db, smtp_server, mail_worker):
    owner = f"owner@{fresh_tenant.slug}.test"
    smtp_server.stop()
    assert TenantClient(fresh_tenant).post("/api/v1/auth/password/reset", {"email": owner}).status_code == 202

    def attempted() -> bool:
        with schema_context(fresh_tenant.schema_name):
            return Email.objects.filter(to=owner, attempts=1, status=EmailStatus.QUEUED).exists()

    wait_for(attempted, what="a failed attempt")
    smtp_server.start()
    with schema_context(fresh_tenant.schema_name):
        Email.objects.filter(to=owner).update(next_attempt_at="2000-01-01T00:00:00Z")  # its back-off passed
        assert emails_sweep() == 1
    assert smtp_server.wait_for(1)[0]["To"] == owner
    wait_for(lambda: status_of(fresh_tenant, owner) == EmailStatus.SENT, what="the row marked sent")
