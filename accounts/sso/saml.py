"""SAML 2 per tenant on top of djangosaml2 (`SAML_CONFIG_LOADER` builds each tenant's SP config).

Flow (SP-initiated):
1. `/sso/saml/login/` (djangosaml2's LoginView) sends an AuthnRequest to the tenant's IdP. Its ID
   is kept in Redis (tenant-scoped, 10 minutes) and in the browser's session.
2. The IdP POSTs the Response to `/sso/saml/acs/`. That POST is cross-site, so the session cookie
   (SameSite=Lax) is *not* sent: the ACS relies on nothing from the session. It takes the
   outstanding request from Redis (read once), lets pysaml2 check signatures, validity window
   and audience, checks Destination, Recipient, issuer and NameID itself, records the assertion
   in the replay cache, parks the verified result under a one-time handoff token and answers
   303 to `/sso/saml/finish/?handoff=...`. It sets no cookie, so the browser's session survives.
3. `/sso/saml/finish/` is a top-level GET on our own site, so the Lax session cookie is sent.
   It requires the handoff's request ID to be one this browser started (no login CSRF), then
   matches or creates the user (the djangosaml2 backend below) and signs in.
IdP-initiated Responses (no InResponseTo) are refused unless the tenant allows them.
"""

import base64
import binascii
import shutil
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import saml2
from defusedxml import ElementTree
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from djangosaml2.backends import Saml2Backend
from djangosaml2.views import AssertionConsumerServiceView, LoginView, MetadataView
from saml2.config import SPConfig
from saml2.response import StatusError, UnsolicitedResponse
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.sigver import MissingKey, SignatureError, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from saas.typing import routed_tenant

from . import store
from .common import is_loopback, mark_sso_session, refusal_redirect
from .models import Protocol, SamlProvider
from .redirects import safe_next
from .selectors import saml_provider_get
from .services import ExternalIdentity, SSORefused, sso_attempt_check, sso_user_resolve

_MAX_RESPONSE_BYTES = 512 * 1024
_SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"


def xmlsec_binary() -> str | None:
    """Path of the xmlsec1 program pysaml2 signs and verifies with (Debian package `xmlsec1`)."""
    return settings.SAML_XMLSEC_BINARY or shutil.which("xmlsec1")


def _sp_urls(request: HttpRequest) -> dict[str, str]:
    base = request.build_absolute_uri("/").rstrip("/")
    return {"entityid": base + "/sso/saml/metadata/", "acs": base + "/sso/saml/acs/"}


def sp_config(
    request: HttpRequest, *, provider: SamlProvider | None = None, require_enabled: bool = True
) -> SPConfig:
    """The pysaml2 SP configuration of the request's tenant: its own IdP metadata, nothing shared."""
    provider = provider or saml_provider_get()
    if require_enabled and (not provider.enabled or not provider.idp_metadata_xml):
        raise SSORefused("not_configured")
    binary = xmlsec_binary()
    if binary is None:
        raise SSORefused("not_configured", "xmlsec1 is not installed (apt-get install xmlsec1)")
    urls = _sp_urls(request)
    tenant = getattr(request, "tenant", None)
    conf: dict[str, Any] = {
        "entityid": urls["entityid"],
        "xmlsec_binary": binary,
        "allow_unknown_attributes": True,
        "accepted_time_diff": settings.SSO_CLOCK_SKEW_SECONDS,
        "service": {
            "sp": {
                "name": tenant.name if tenant is not None else "SaaS",
                "endpoints": {"assertion_consumer_service": [(urls["acs"], saml2.BINDING_HTTP_POST)]},
                "allow_unsolicited": bool(provider.allow_idp_initiated),
                "authn_requests_signed": False,
                "logout_requests_signed": False,
                "want_assertions_signed": False,
                "want_response_signed": False,
                "want_assertions_or_response_signed": True,  # one of them, always
                "only_use_keys_in_metadata": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_EMAILADDRESS],
                "name_id_format_allow_create": True,
            }
        },
        "metadata": {"inline": [provider.idp_metadata_xml]} if provider.idp_metadata_xml else {},
    }
    config = SPConfig()
    config.load(conf)
    return config


def saml_config_loader(request: HttpRequest) -> SPConfig:
    """`SAML_CONFIG_LOADER`: djangosaml2 calls this with each request."""
    return sp_config(request)


def metadata_fetch(url: str) -> str:
    """IdP metadata from a URL (https, or http on loopback), with the SSO timeout and a size limit."""
    parts = urlsplit(url)
    if not parts.hostname or not (
        parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    ):
        raise SSORefused("idp_error", "the metadata URL must be https://")
    try:
        response = requests.get(url, timeout=settings.SSO_HTTP_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SSORefused("idp_unreachable", type(exc).__name__) from exc
    if len(response.content) > _MAX_RESPONSE_BYTES:
        raise SSORefused("idp_error", "metadata too large")
    return response.text


def metadata_idp_entity_id(xml: str) -> str:
    """The single IdP entity in `xml`, which must offer SSO and a signing certificate."""
    try:
        ElementTree.fromstring(xml.encode())  # refuses entity expansion and external references
        config = SPConfig()
        config.load(
            {"entityid": "urn:x-check", "metadata": {"inline": [xml]}, "xmlsec_binary": xmlsec_binary()}
        )
        idps = list(config.metadata.with_descriptor("idpsso").keys())
    except Exception as exc:  # pysaml2 raises many types for bad metadata
        raise SSORefused("invalid_response", "The IdP metadata could not be read.") from exc
    if len(idps) != 1:
        raise SSORefused("invalid_response", "The metadata must describe exactly one identity provider.")
    entity_id = idps[0]
    if not config.metadata.certs(entity_id, "idpsso", "signing"):
        raise SSORefused("invalid_response", "The IdP metadata has no signing certificate.")
    if not config.metadata.single_sign_on_service(entity_id):
        raise SSORefused("invalid_response", "The IdP metadata has no single sign-on service.")
    return str(entity_id)


def _peek_in_response_to(encoded: str) -> str | None:
    """InResponseTo of a posted Response, read only to find the outstanding request (pysaml2 verifies)."""
    try:
        xml = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise SSORefused("invalid_response", "SAMLResponse is not base64") from exc
    if len(xml) > _MAX_RESPONSE_BYTES:
        raise SSORefused("invalid_response", "SAMLResponse too large")
    try:
        root = ElementTree.fromstring(xml)
    except Exception as exc:  # defusedxml refusals and syntax errors alike
        raise SSORefused("invalid_response", "SAMLResponse is not XML") from exc
    if root.tag != _SAMLP + "Response":
        raise SSORefused("invalid_response", "not a SAML Response")
    return root.get("InResponseTo") or None


class _Scratch(dict[str, Any]):
    """Stands in for `request.saml_session`: djangosaml2's caches write here, never to a cookie."""

    modified = False


def _refusal_for(exc: BaseException | None) -> SSORefused:
    if isinstance(exc, SSORefused):
        return exc
    text = str(exc or "")
    if isinstance(exc, UnsolicitedResponse):
        return SSORefused("unsolicited", text[:200])
    if isinstance(exc, ResponseLifetimeExceed | ToEarly):
        return SSORefused("token_expired", text[:200])
    if isinstance(exc, SignatureError | SigverError | MissingKey):
        missing = any(m in text for m in ("not signed", "Neither the response", "Signature missing"))
        return SSORefused("signature_missing" if missing else "signature_invalid", text[:200])
    if "AudienceRestrictions" in text:
        return SSORefused("wrong_audience", text[:200])
    if isinstance(exc, StatusError):
        return SSORefused("idp_error", type(exc).__name__)
    return SSORefused("invalid_response", f"{type(exc).__name__}: {text[:200]}")


class TenantSamlLoginView(LoginView):
    """`/sso/saml/login/?next=/path`: an AuthnRequest to the tenant's IdP (HTTP-Redirect binding)."""

    config_loader_path = "accounts.sso.saml.saml_config_loader"

    def load_sso_kwargs_scoping(self, sso_kwargs: dict[str, Any]) -> None:
        """No IdP scoping from the query string: the tenant has exactly one IdP."""

    def add_idp_hinting(self, http_response: HttpResponse) -> HttpResponse:
        return http_response

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        next_path = safe_next(request.GET.get("next"))
        query = request.GET.copy()
        query["next"] = next_path
        query.pop("idp", None)
        query.pop("RelayState", None)
        request.GET = query  # type: ignore[assignment]  # the stubs type request.GET immutable
        scratch = _Scratch()
        request.saml_session = scratch  # type: ignore[attr-defined]  # djangosaml2 keeps its state there
        try:
            response: HttpResponse = super().get(request, *args, **kwargs)
        except SSORefused as exc:
            return refusal_redirect(protocol=Protocol.SAML, exc=exc)
        sent = scratch.get("_saml2_outstanding_queries", {})
        if sent:
            pending = list(request.session.get("saml_requests", []))
            for request_id, came_from in sent.items():
                store.outstanding_put(
                    request_id=request_id, next_path=safe_next(came_from), ttl=settings.SSO_STATE_TTL_SECONDS
                )
                pending.append(request_id)
            request.session["saml_requests"] = pending[-10:]
        return response


@method_decorator(csrf_exempt, name="dispatch")
class TenantSamlAcsView(AssertionConsumerServiceView):
    """`/sso/saml/acs/`: verifies the IdP's POSTed Response, then hands over to `finish` (see module)."""

    config_loader_path = "accounts.sso.saml.saml_config_loader"
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refusal: SSORefused | None = None
        self._finish_url = ""
        self.provider = saml_provider_get()
        try:
            sso_attempt_check(request=request)
            if not self.provider.enabled:
                raise SSORefused("not_configured")
            encoded = request.POST.get("SAMLResponse", "")
            if not encoded:
                raise SSORefused("invalid_response", "no SAMLResponse")
            in_response_to = _peek_in_response_to(encoded)
            outstanding: dict[str, str] = {}
            if in_response_to:
                record = store.outstanding_pop(request_id=in_response_to)
                if record is None:
                    raise SSORefused("unsolicited", "InResponseTo names no request of this tenant")
                outstanding[in_response_to] = record["next"]
            elif not self.provider.allow_idp_initiated:
                raise SSORefused("unsolicited", "IdP-initiated sign-in is turned off")
            self.in_response_to = in_response_to
            request.saml_session = _Scratch({"_saml2_outstanding_queries": outstanding})  # type: ignore[attr-defined]
            response: HttpResponse = super().post(request, attribute_mapping={}, create_unknown_user=True)
            return response
        except SSORefused as exc:
            return refusal_redirect(protocol=Protocol.SAML, exc=exc, issuer=self.provider.idp_entity_id)

    def custom_validation(self, response: Any) -> None:
        """What pysaml2 leaves to us: Destination, Recipient, issuer, a stable NameID, one use only."""
        try:
            acs = _sp_urls(self.request)["acs"]
            if response.response.destination != acs:
                raise SSORefused("destination_mismatch", str(response.response.destination)[:200])
            assertion = response.assertion
            issuers = {assertion.issuer.text.strip() if assertion.issuer is not None else None}
            if response.response.issuer is not None:
                issuers.add(response.response.issuer.text.strip())
            if issuers != {self.provider.idp_entity_id}:
                raise SSORefused("wrong_issuer", ", ".join(sorted(str(i) for i in issuers))[:200])
            confirmations = assertion.subject.subject_confirmation
            if not confirmations or any(
                sc.subject_confirmation_data is None or sc.subject_confirmation_data.recipient != acs
                for sc in confirmations
            ):
                raise SSORefused("destination_mismatch", "Recipient")
            name_id = response.name_id
            if (
                name_id is None
                or not (name_id.text or "").strip()
                or name_id.format == NAMEID_FORMAT_TRANSIENT
            ):
                raise SSORefused("subject_missing", "a persistent or email NameID is required")
            ttl = settings.SSO_STATE_TTL_SECONDS
            if not store.assertion_first_use(
                issuer=self.provider.idp_entity_id, assertion_id=assertion.id, ttl=ttl
            ):
                raise SSORefused("replayed", assertion.id[:100])
        except SSORefused as exc:
            self._refusal = exc
            raise

    def handle_acs_failure(
        self, request: HttpRequest, exception: BaseException | None = None, status: int = 403, **kwargs: Any
    ) -> HttpResponse:
        refusal = self._refusal or _refusal_for(exception)
        return refusal_redirect(protocol=Protocol.SAML, exc=refusal, issuer=self.provider.idp_entity_id)

    def authenticate_user(self, request: HttpRequest, session_info: dict[str, Any], *args: Any) -> None:
        """No sign-in here (the session cookie is absent on this cross-site POST): park the result."""
        name_id = session_info["name_id"]
        came_from = safe_next(session_info.get("came_from"))
        if not self.in_response_to:  # IdP-initiated: RelayState is the only hint, and untrusted
            came_from = safe_next(request.POST.get("RelayState"))
        token = store.handoff_put(
            {
                "in_response_to": self.in_response_to,
                "next": came_from,
                "session_info": {
                    "issuer": session_info["issuer"],
                    "name_id": name_id.text.strip(),
                    "name_id_format": name_id.format,
                    "ava": {k: [str(v) for v in vs] for k, vs in session_info.get("ava", {}).items()},
                },
            },
            ttl=settings.SSO_HANDOFF_TTL_SECONDS,
        )
        self._finish_url = "/sso/saml/finish/?" + urlencode({"handoff": token})

    def custom_redirect(self, user: Any, relay_state: str, session_info: dict[str, Any]) -> str:
        return self._finish_url


class TenantSamlMetadataView(MetadataView):
    """`/sso/saml/metadata/`: this tenant's SP metadata, served before the IdP is configured too."""

    def get_sp_config(self, request: HttpRequest) -> SPConfig:
        try:
            return sp_config(request, require_enabled=False)
        except SSORefused as exc:
            raise Http404(exc.message) from exc


class SamlFinishView(View):
    """`/sso/saml/finish/?handoff=`: same-site follow-up of the ACS; binds the answer to this browser."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        provider = saml_provider_get()
        try:
            data = store.handoff_pop(request.GET.get("handoff", ""))
            if data is None:
                raise SSORefused("state_mismatch", "unknown or used handoff")
            if data.get("schema") != routed_tenant(request).schema_name:
                raise SSORefused("binding_mismatch", "handoff of another tenant")
            if not provider.enabled:
                raise SSORefused("not_configured")
            request_id = data.get("in_response_to")
            if request_id:
                pending = list(request.session.get("saml_requests", []))
                if request_id not in pending:
                    raise SSORefused("binding_mismatch")
                pending.remove(request_id)
                request.session["saml_requests"] = pending
            elif not provider.allow_idp_initiated:
                raise SSORefused("unsolicited")
            user = auth.authenticate(request, session_info=data["session_info"], saml_handoff=True)
            if user is None:
                raise SSORefused("invalid_response", "no user")
        except SSORefused as exc:
            return refusal_redirect(protocol=Protocol.SAML, exc=exc, issuer=provider.idp_entity_id)
        auth.login(request, user)
        mark_sso_session(request, protocol=Protocol.SAML, issuer=provider.idp_entity_id)
        return HttpResponseRedirect(safe_next(data.get("next")))


def _first(ava: dict[str, list[str]], name: str) -> str:
    values = ava.get(name) or []
    return values[0] if values else ""


class TenantSaml2Backend(Saml2Backend):
    """djangosaml2's backend, matching by (IdP entity ID, NameID) and provisioning like OIDC."""

    def authenticate(
        self, request: HttpRequest | None, session_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        if request is None or session_info is None or not kwargs.get("saml_handoff"):
            return None
        provider = saml_provider_get()
        if session_info.get("issuer") != provider.idp_entity_id:
            raise SSORefused("wrong_issuer")
        ava = session_info.get("ava") or {}
        email = _first(ava, provider.attribute_email)
        if not email and session_info.get("name_id_format") == NAMEID_FORMAT_EMAILADDRESS:
            email = session_info["name_id"]
        identity = ExternalIdentity(
            protocol=Protocol.SAML,
            issuer=provider.idp_entity_id,
            subject=session_info.get("name_id", ""),
            email=email,
            email_verified=True,  # SAML has no such claim: the tenant's IdP vouches for its users
            groups=list(ava.get(provider.attribute_groups) or []),
            first_name=_first(ava, "givenName"),
            last_name=_first(ava, "sn") or _first(ava, "surname"),
        )
        try:
            return sso_user_resolve(provider=provider, identity=identity)
        except PermissionDenied:  # pragma: no cover - resolve raises SSORefused, never this
            return None

    def get_user(self, user_id: Any) -> Any:
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()
