"""What both SSO protocols' views share: the loopback rule for http:// URLs, the refusal redirect,
the session mark. Imported by `oidc` and `saml`, importing neither."""

import ipaddress
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from .services import SSORefused, sso_refusal_record

_LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """A loopback host (tests, dev): the only place an IdP may be reached over plain http."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal_redirect(*, protocol: str, exc: SSORefused, issuer: str = "") -> HttpResponse:
    """Audits the refusal and sends the browser back to the sign-in page, which explains it."""
    sso_refusal_record(protocol=protocol, reason=exc.reason, detail=exc.detail, issuer=issuer)
    return HttpResponseRedirect("/login/?" + urlencode({"sso_error": exc.reason}))


def mark_sso_session(request: HttpRequest, *, protocol: str, issuer: str) -> None:
    """Records in the (new) session that it was opened by SSO: the API token bridge requires it."""
    request.session["sso_login"] = {"protocol": protocol, "issuer": issuer}
