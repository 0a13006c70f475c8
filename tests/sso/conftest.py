"""SSO fixtures: real IdPs on 127.0.0.1 and helpers that walk a browser's steps with Django's client."""

import shutil
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import saml2
from django.contrib.sessions.models import Session
from django.test import Client
from django_tenants.utils import schema_context

from accounts import services as accounts_services
from accounts.sso.providers import oidc_provider_update, saml_provider_update
from audit import security as audit_security
from audit import services as audit_services
from tenants.models import Tenant

from .oidc_provider import OIDCProvider
from .saml_idp import SamlIdP

OWNER = SimpleNamespace(role="owner", is_platform_admin=False)


def host(tenant: Tenant) -> str:
    return f"{tenant.slug}.localhost"


@pytest.fixture
def oidc_idp() -> Iterator[OIDCProvider]:
    provider = OIDCProvider()
    yield provider
    provider.close()


@pytest.fixture
def other_oidc_idp() -> Iterator[OIDCProvider]:
    provider = OIDCProvider(client_id="beta-client", client_secret="beta-secret-value")
    yield provider
    provider.close()


def _need_xmlsec1() -> None:
    if shutil.which("xmlsec1") is None:
        pytest.skip("SAML test skipped: xmlsec1 is not installed (Debian/Ubuntu: apt-get install xmlsec1)")


@pytest.fixture
def saml_idp() -> Iterator[SamlIdP]:
    _need_xmlsec1()
    idp = SamlIdP("idp-a")
    yield idp
    idp.close()


@pytest.fixture
def other_saml_idp() -> Iterator[SamlIdP]:
    _need_xmlsec1()
    idp = SamlIdP("idp-b")
    yield idp
    idp.close()


@pytest.fixture
def audit_log(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every audit_record call, in order (the audit app's own storage is not under test here), with
    its event name in `changes["event"]` as audit_record files it."""
    calls: list[dict[str, Any]] = []

    def record(**kw: Any) -> None:
        changes = {**(kw.get("details") or {}), "event": str(kw["event"])}
        calls.append({**kw, "changes": changes})

    for module in (audit_services, accounts_services, audit_security):
        monkeypatch.setattr(module, "audit_record", record)
    return calls


def configure_oidc(tenant: Tenant, idp: OIDCProvider, **overrides: Any) -> None:
    data = {
        "enabled": True,
        "issuer": idp.issuer,
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
        "role_map": {"saas-admins": "admin", "saas-owners": "owner"},
        "default_role": "member",
        "allowed_domains": [],
        "jit": True,
        **overrides,
    }
    with schema_context(tenant.schema_name):
        oidc_provider_update(actor=OWNER, **data)


def configure_saml(tenant: Tenant, idp: SamlIdP, **overrides: Any) -> None:
    data = {
        "enabled": True,
        "idp_metadata_xml": idp.metadata_xml,
        "role_map": {"saas-admins": "admin"},
        "default_role": "member",
        "jit": True,
        **overrides,
    }
    with schema_context(tenant.schema_name):
        saml_provider_update(actor=OWNER, **data)


def browser(tenant: Tenant, **kwargs: Any) -> Client:
    return Client(HTTP_HOST=host(tenant), **kwargs)


def signed_in_sessions(tenant: Tenant) -> list[str]:
    """User ids of every signed-in session stored in the tenant's schema."""
    with schema_context(tenant.schema_name):
        decoded = [s.get_decoded() for s in Session.objects.all()]
    return [d["_auth_user_id"] for d in decoded if "_auth_user_id" in d]


def assert_not_signed_in(client: Client, tenant: Tenant, *, nobody: bool = True) -> None:
    """The browser has no signed-in session (and, with `nobody`, no session in the tenant has one)."""
    home = client.get("/")
    assert home.status_code == 302, home
    assert home["Location"].startswith("/login/"), home
    cookie = client.cookies.get("sessionid")
    if cookie is not None:
        with schema_context(tenant.schema_name):
            session = Session.objects.filter(session_key=cookie.value).first()
            assert session is None or "_auth_user_id" not in session.get_decoded()
    if nobody:
        assert signed_in_sessions(tenant) == []


def refusal(response: Any) -> str:
    """The reason code of a refusal redirect to the sign-in page."""
    assert response.status_code == 302, response
    location = urlsplit(response["Location"])
    assert location.path == "/login/", response["Location"]
    return parse_qs(location.query)["sso_error"][0]


# -- OIDC steps -----------------------------------------------------------------------------------
def oidc_begin(client: Client, next_path: str = "/") -> str:
    response = client.get("/sso/oidc/login/", {"next": next_path})
    assert response.status_code == 302, response
    return response["Location"]


def idp_authorize(authorize_url: str) -> str:
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def oidc_callback(client: Client, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return client.get(parts.path + "?" + parts.query)


def oidc_sign_in(client: Client, next_path: str = "/") -> Any:
    return oidc_callback(client, idp_authorize(oidc_begin(client, next_path)))


# -- SAML steps -----------------------------------------------------------------------------------
def saml_begin(client: Client, idp: SamlIdP, next_path: str = "/") -> dict[str, str]:
    """Starts SP-initiated sign-in; returns what the IdP read from the AuthnRequest."""
    response = client.get("/sso/saml/login/", {"next": next_path})
    assert response.status_code == 302, response
    query = parse_qs(urlsplit(response["Location"]).query)
    message = idp.server.parse_authn_request(query["SAMLRequest"][0], saml2.BINDING_HTTP_REDIRECT).message
    return {
        "request_id": message.id,
        "acs": message.assertion_consumer_service_url,
        "audience": message.issuer.text,
        "relay_state": query.get("RelayState", [""])[0],
    }


def saml_post(tenant: Tenant, saml_response: str, relay_state: str = "") -> Any:
    """The IdP's cross-site POST: a browser sends no SameSite=Lax cookie with it, so neither do we."""
    return browser(tenant).post("/sso/saml/acs/", {"SAMLResponse": saml_response, "RelayState": relay_state})


def saml_finish(client: Client, acs_response: Any) -> Any:
    assert acs_response.status_code == 303 or acs_response.status_code == 302, acs_response
    location = acs_response["Location"]
    assert location.startswith("/sso/saml/finish/"), location
    return client.get(location)


def saml_sign_in(
    client: Client, tenant: Tenant, idp: SamlIdP, next_path: str = "/", **response_kwargs: Any
) -> Any:
    request = saml_begin(client, idp, next_path)
    posted = saml_post(
        tenant,
        idp.response(
            acs_url=request["acs"],
            audience=request["audience"],
            in_response_to=request["request_id"],
            **response_kwargs,
        ),
        request["relay_state"],
    )
    return saml_finish(client, posted)
