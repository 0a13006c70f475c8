"""Password reset and invitations in a real browser (headless Chromium, Debian's package, driven by
Playwright), each from the link of a mail that a real worker sent to a real SMTP server, each ending
signed in. The browser talks to a real gunicorn on tenant hosts `<slug>.localhost`."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tests.conftest import PASSWORD, TenantClient, access_token, start_worker, stop_worker
from tests.sso.test_browser import browser_page, chromium, tenant_base  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]

NEW = "browser-chosen-passphrase-8"


@pytest.fixture
def mail_worker(smtp_server: Any, live_server_url: str) -> Iterator[None]:
    """A Celery worker that mails through the test SMTP server, with links to the live server's port."""
    proc, _ = start_worker(
        EMAIL_URL=smtp_server.url, SAAS_PUBLIC_URL_PORT=str(urlsplit(live_server_url).port)
    )
    try:
        yield
    finally:
        stop_worker(proc)


def mailed_link(smtp_server: Any, part: str) -> str:
    message = smtp_server.wait_for(1)[0]
    return next(link for link in smtp_server.links(message) if part in link)


def test_forgotten_password_reset_from_the_mail_in_a_browser(
    live_server_url, fresh_tenant, committed_db, smtp_server, mail_worker
):
    email = f"owner@{fresh_tenant.slug}.test"
    base = tenant_base(live_server_url, fresh_tenant)
    with browser_page() as page:
        page.goto(base + "/login/")
        page.click("#forgot-password")
        page.wait_for_url(base + "/password/reset/")
        page.fill("#email", email)
        page.click("#password-reset button[type=submit]")
        page.wait_for_selector("#reset-sent")

        link = mailed_link(smtp_server, "/password/reset/")
        assert link.startswith(base + "/password/reset/")
        page.goto(link)
        page.fill("#password", NEW)
        page.fill("#password_confirm", NEW)
        page.click("#password-reset-confirm button[type=submit]")
        page.wait_for_url(base + "/")
        assert page.text_content("#user-email") == email
        assert page.text_content("#user-role") == "owner"

        page.goto(link)  # the link worked once
        assert page.is_visible("#link-invalid")
    old = TenantClient(fresh_tenant).post("/api/v1/auth/login", {"email": email, "password": PASSWORD})
    new = TenantClient(fresh_tenant).post("/api/v1/auth/login", {"email": email, "password": NEW})
    assert (old.status_code, new.status_code) == (401, 200)


def test_invitation_accepted_from_the_mail_in_a_browser(
    live_server_url, fresh_tenant, committed_db, smtp_server, mail_worker
):
    with schema_context(fresh_tenant.schema_name):
        owner = User.objects.get(role=Role.OWNER)
    client = TenantClient(fresh_tenant, token=access_token(owner, fresh_tenant))
    sent = client.post("/api/v1/invitations/", {"email": "newcomer@example.test", "role": "admin"})
    assert sent.status_code == 201
    base = tenant_base(live_server_url, fresh_tenant)
    link = mailed_link(smtp_server, "/invitations/")
    assert link.startswith(base + "/invitations/")
    with browser_page() as page:
        page.goto(link)
        assert page.text_content("#invitation-email") == "newcomer@example.test"
        assert page.text_content("#invitation-role") == "admin"
        page.fill("#first_name", "New")
        page.fill("#last_name", "Comer")
        page.fill("#password", NEW)
        page.fill("#password_confirm", NEW)
        page.click("#invitation-accept button[type=submit]")
        page.wait_for_url(base + "/")
        assert page.text_content("#user-email") == "newcomer@example.test"
        assert page.text_content("#user-role") == "admin"
        assert page.is_visible("#integrations-health")  # an admin's home page
    listed = client.get("/api/v1/invitations/", {"status": "accepted"}).json()["results"]
    assert [i["email"] for i in listed] == ["newcomer@example.test"]
