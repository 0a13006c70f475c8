"""ReDoc without a third-party request: no web fonts, and a bundle without its CDN-hosted logo.

drf-spectacular's ReDoc page links Google Fonts, and the ReDoc bundle (drf-spectacular-sidecar) draws
its sidebar logo from cdn.redoc.ly. The page here uses the platform's system fonts, and the bundle is
served from the sidecar's copy with every cdn.redoc.ly address blanked (an `<img src="">` is never
fetched; ReDoc's error handler then hides it), so `/redoc` works offline without leaning on the CSP.
"""

import re
from functools import cache
from hashlib import sha256
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
_REDOC_CDN = re.compile(r"https://cdn\.redoc\.ly/[^\"'`\s]*")


@cache
def redoc_bundle() -> tuple[bytes, str]:
    """The patched bundle and a digest of it, for a URL that can be cached forever."""
    path = finders.find(REDOC_BUNDLE)
    if not path:
        raise FileNotFoundError(REDOC_BUNDLE)
    body = _REDOC_CDN.sub("", Path(str(path)).read_text(encoding="utf-8")).encode()
    return body, sha256(body).hexdigest()[:16]


@gzip_page
@require_safe
def redoc_bundle_view(request: HttpRequest) -> HttpResponse:
    body, digest = redoc_bundle()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    if request.GET.get("v") == digest:
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "public, max-age=300"
    return response


class RedocView(SpectacularRedocView):
    """`/redoc`: the platform's template (no Google Fonts, no inline script) and the patched bundle."""

    template_name = "docs/redoc.html"

    def _redoc_standalone(self) -> str:  # type: ignore[override]
        return f"{reverse('redoc-bundle')}?v={redoc_bundle()[1]}"
