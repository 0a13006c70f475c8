"""Platform start page, favicon, HEAD on the sign-in page, and API docs pages without third parties."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# Hosts whose fetch would mean "served from a CDN": fonts, ReDoc's logo, the usual JS CDNs.
CDN_HOSTS = ("fonts.googleapis.com", "fonts.gstatic.com", "cdn.redoc.ly", "cdn.jsdelivr.net", "unpkg.com")
# In scripts and style sheets: a URL in a position the browser fetches (not a link a person clicks,
# nor the `$id`s of JSON schemas the bundle carries as plain strings).
FETCHED_URL = re.compile(
    r"""(?:\bsrc\s*[:=]\s*|url\(\s*|@import\s+(?:url\()?\s*|\bfetch\(\s*)["'`]?(https?://[^"'`)\s]+)"""
)


class _Resources(HTMLParser):
    """The URLs an HTML page makes the browser fetch (scripts, style sheets, icons, images, frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in {"script", "img", "iframe", "source"} and values.get("src"):
            self.urls.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")


def page_resources(html: str) -> list[str]:
    parser = _Resources()
    parser.feed(html)
    return parser.urls


def asset_text(client: Client, url: str) -> str:
    """A referenced local asset: static files from the finders (tests run without collectstatic)."""
    path = urlsplit(url).path
    if path.startswith("/static/"):
        found = finders.find(path.removeprefix("/static/"))
        assert found, url
        with open(str(found), encoding="utf-8") as handle:
            return handle.read()
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content if response.streaming else [response.content]).decode()


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
@pytest.mark.parametrize("page", ["/redoc", "/docs"])
def test_docs_pages_fetch_nothing_from_another_host(tenant_a, host, page):
    client = Client(HTTP_HOST=host)
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    for cdn in CDN_HOSTS:
        assert cdn not in html
    resources = page_resources(html)
    assert resources
    for url in resources:
        parts = urlsplit(url)
        assert not parts.scheme, f"{page} loads {url}"
        assert not parts.netloc, f"{page} loads {url}"
        if not parts.path.endswith((".js", ".css")) and "script" not in parts.query:
            continue
        text = asset_text(client, url)
        for cdn in CDN_HOSTS:
            assert cdn not in text, f"{url} names {cdn}"
        fetched = {urlsplit(m).netloc for m in FETCHED_URL.findall(text)}
        assert not fetched - {host}, f"{url} fetches from {fetched}"


def test_redoc_page_has_no_inline_script_and_a_cacheable_bundle(tenant_a):
    client = Client()
    html = client.get("/redoc").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    bundle = next(u for u in page_resources(html) if "redoc.standalone" in u)
    response = client.get(bundle, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]


def test_platform_root_is_a_start_page(tenant_a):
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ('href="/admin/"', 'href="/docs"', 'href="/redoc"', 'href="/health"'):
        assert link in html
    assert PASSWORD not in html
    assert "platform-admin-pass" not in html
    assert "demo-sign-in" not in html  # the demo tenant's link is for development only
    assert Client().head("/").status_code == 200


def test_start_page_shows_the_demo_sign_in_in_development(settings, tenant_a):
    settings.DJANGO_ENV = "development"
    settings.DEMO_TENANT_SLUG = tenant_a.slug  # the session's tenant stands in for the demo one
    html = Client(HTTP_HOST="localhost:8000").get("/").content.decode()
    assert 'href="http://alpha.localhost:8000/login/"' in html
    assert settings.DEMO_OWNER_PASSWORD not in html


def test_tenant_root_still_leads_to_sign_in(tenant_a):
    response = Client(HTTP_HOST="alpha.localhost").get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_admin_view_site_goes_to_the_start_page(platform_admin):
    client = Client()
    client.force_login(platform_admin)
    index = client.get("/admin/").content.decode()
    assert re.search(r'<a href="/">\s*View site\s*</a>', index)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_favicon(tenant_a, host):
    response = Client(HTTP_HOST=host).get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_head_on_the_sign_in_page(tenant_a):
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.head("/login/").status_code == 200
    assert client.head("/").status_code == 302
