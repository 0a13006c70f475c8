"""`/redoc` and `/docs` in headless Chromium: every request the pages make goes to the page's own host."""

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.sso.test_browser import browser_page, chromium  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("page_path", ["/redoc", "/docs"])
@pytest.mark.parametrize("on_tenant_host", [False, True], ids=["platform", "tenant"])
def test_docs_pages_request_nothing_from_another_host(
    chromium,  # noqa: F811
    live_server_url,
    tenant_a,
    page_path,
    on_tenant_host,
):
    port = urlsplit(live_server_url).port
    base = f"http://{tenant_a.slug}.localhost:{port}" if on_tenant_host else live_server_url
    with browser_page() as page:
        requests: list[str] = []
        failed: list[str] = []
        errors: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        response: Any = page.goto(base + page_path)
        assert response.status == 200
        page.wait_for_selector("text=SaaS platform API")
        page.wait_for_load_state("networkidle")
        hosts = {urlsplit(url).netloc for url in requests if not url.startswith(("data:", "blob:"))}
        assert hosts == {urlsplit(base).netloc}, requests
        assert failed == []
        assert errors == []
