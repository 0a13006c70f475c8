"""Single sign-on in a real browser: headless Chromium (Debian's package) driven by Playwright.

The browser talks to a real gunicorn (`live_server_url`) on tenant hosts `<slug>.localhost`
(Chromium resolves *.localhost to 127.0.0.1 itself) and to the test IdPs on 127.0.0.1, which is
another *site*: the IdP's POST to the ACS is a genuine cross-site request, so the SameSite=Lax
session cookie is withheld exactly as in production.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import configure_oidc, configure_saml
from .oidc_provider import OIDCProvider
from .saml_idp import SamlIdP

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"browser test skipped: no Chromium at {CHROMIUM} (Debian/Ubuntu: apt-get install chromium)"
        )


@contextmanager
def browser_page() -> Iterator[Any]:
    """A fresh headless page. Opened after all database work: Playwright's sync API runs an event
    loop, and Django refuses ORM calls while one runs in the thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        context.set_default_timeout(20_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def tenant_base(live_server_url: str, tenant: Any) -> str:
    return f"http://{tenant.slug}.localhost:{urlsplit(live_server_url).port}"


def test_oidc_sign_in_in_a_browser(chromium, live_server_url, fresh_tenant, django_db_blocker):
    idp = OIDCProvider()
    try:
        idp.interactive = True
        idp.login_as("browser-1", "oidc.user@example.test", groups=["saas-admins"], given_name="Olive")
        with django_db_blocker.unblock():
            configure_oidc(fresh_tenant, idp)
        base = tenant_base(live_server_url, fresh_tenant)
        with browser_page() as page:
            page.goto(base + "/")
            page.wait_for_url(base + "/login/?next=*")
            page.click("#sso-oidc")
            page.wait_for_url(idp.issuer + "/authorize?*")
            page.click("#approve")
            page.wait_for_url(base + "/")
            assert page.text_content("#user-email") == "oidc.user@example.test"
            assert page.text_content("#user-role") == "admin"
            assert page.is_visible("#integrations-health")
            status, body = page.evaluate(
                """async () => {
                    const csrf = document.querySelector('meta[name="csrf-token"]').content;
                    const r = await fetch('/api/v1/auth/sso/token', {method: 'POST', body: '{}',
                        headers: {'X-CSRFToken': csrf, 'Content-Type': 'application/json'}});
                    return [r.status, await r.json()];
                }"""
            )
            assert status == 200
            assert body["token_type"] == "Bearer"
            page.click("#sign-out")
            page.wait_for_url(base + "/login/")
    finally:
        idp.close()


def test_saml_sign_in_in_a_browser_survives_the_cross_site_post(
    chromium, live_server_url, fresh_tenant, django_db_blocker
):
    idp = SamlIdP("browser")
    try:
        idp.login_as("browser-2", "saml.user@example.test", groups=["saas-admins"])
        with django_db_blocker.unblock():
            configure_saml(fresh_tenant, idp)
        base = tenant_base(live_server_url, fresh_tenant)
        with browser_page() as page:
            seen: list[Any] = []
            page.on("request", lambda request: seen.append(request))
            page.goto(base + "/login/?next=/")
            page.click("#sso-saml")
            page.wait_for_url(idp.base + "/sso/redirect?*")
            page.click("#approve")
            page.click("#continue")  # the IdP's form POSTs the Response to our ACS, cross-site
            page.wait_for_url(base + "/")
            assert page.text_content("#user-email") == "saml.user@example.test"
            assert page.text_content("#user-role") == "admin"
            assert page.text_content("#sign-in-method") == "single sign-on (SAML)"

            acs = next(r for r in seen if r.url == base + "/sso/saml/acs/")
            finish = next(r for r in seen if r.url.startswith(base + "/sso/saml/finish/"))
            assert acs.method == "POST"
            # The cross-site POST carries no session cookie (SameSite=Lax) ...
            assert "sessionid=" not in acs.all_headers().get("cookie", "")
            # ... and the same-site follow-up carries the session that started the sign-in.
            assert "sessionid=" in finish.all_headers().get("cookie", "")
            acs_response = acs.response()
            assert acs_response is not None
            assert "set-cookie" not in acs_response.all_headers()
    finally:
        idp.close()
