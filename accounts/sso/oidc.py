"""OpenID Connect per tenant on top of mozilla-django-oidc.

The library reads its configuration through `get_settings`; here that reads the *current tenant's*
provider (and the issuer's discovery document) instead of global settings, so two tenants never
share a client, a key set or an endpoint. On top of the library's state, nonce and PKCE handling,
ID tokens are verified strictly: RS256 only (an explicit allow-list, so `none` and HS256 are
refused), keys from the issuer's JWKS, exact `iss` and `aud`, `exp`/`iat` required.
"""

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from saas.crypto import secret_decrypt
from saas.typing import connection

from .common import is_loopback, mark_sso_session, refusal_redirect
from .models import CLIENT_SECRET_PURPOSE, OidcProvider, Protocol
from .redirects import safe_next
from .selectors import oidc_provider_get
from .services import ExternalIdentity, SSORefused, sso_attempt_check, sso_user_resolve

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("RS256",)
_MAX_DOCUMENT_BYTES = 512 * 1024


def validate_issuer(issuer: str) -> str | None:
    """Why `issuer` is not acceptable, or None. HTTPS, except on the loopback interface (tests, dev)."""
    parts = urlsplit(issuer)
    if parts.query or parts.fragment or not parts.hostname:
        return "Give the issuer URL exactly as the provider publishes it (no query or fragment)."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return None
    return "The issuer must be an https:// URL."


def _get_json(url: str, **kwargs: Any) -> dict[str, Any]:
    """GET a JSON document from an IdP, with the SSO timeout and a size limit."""
    try:
        response = requests.get(url, timeout=settings.SSO_HTTP_TIMEOUT, allow_redirects=False, **kwargs)
        response.raise_for_status()
        if len(response.content) > _MAX_DOCUMENT_BYTES:
            raise SSORefused("idp_error", f"{url}: document too large")
        body = response.json()
    except requests.Timeout as exc:
        raise SSORefused("idp_unreachable", f"{url}: timed out") from exc
    except requests.ConnectionError as exc:
        raise SSORefused("idp_unreachable", f"{url}: connection failed") from exc
    except (requests.RequestException, ValueError) as exc:
        raise SSORefused("idp_error", f"{url}: {type(exc).__name__}") from exc
    if not isinstance(body, dict):
        raise SSORefused("idp_error", f"{url}: not a JSON object")
    return body


def _cache_key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"sso:oidc:{kind}:{connection.schema_name}:{digest}"  # per tenant: nothing shared


def discovery_fetch(*, issuer: str, use_cache: bool = True) -> dict[str, Any]:
    """The issuer's discovery document; its `issuer` must equal ours exactly (OIDC Discovery 4.3)."""
    key = _cache_key("discovery", issuer)
    if use_cache:
        cached = cache.get(key)
        if cached:
            return dict(cached)
    doc = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer") != issuer:
        raise SSORefused("wrong_issuer", f"discovery names issuer {str(doc.get('issuer'))[:200]!r}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(name), str) or validate_issuer(doc[name]) is not None:
            raise SSORefused("idp_error", f"discovery document lacks a usable {name}")
    cache.set(key, doc, settings.SSO_DISCOVERY_CACHE_SECONDS)
    return doc


def tenant_oidc_settings(provider: OidcProvider | None = None) -> tuple[OidcProvider, dict[str, Any]]:
    """The mozilla-django-oidc settings of the current tenant's provider (SSORefused when off)."""
    provider = provider or oidc_provider_get()
    secret = secret_decrypt(provider.client_secret_encrypted, purpose=CLIENT_SECRET_PURPOSE)
    if not provider.enabled or not provider.issuer or not provider.client_id or not secret:
        raise SSORefused("not_configured")
    doc = discovery_fetch(issuer=provider.issuer)
    return provider, {
        "OIDC_OP_ISSUER": provider.issuer,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": doc["authorization_endpoint"],
        "OIDC_OP_TOKEN_ENDPOINT": doc["token_endpoint"],
        "OIDC_OP_USER_ENDPOINT": doc.get("userinfo_endpoint"),
        "OIDC_OP_JWKS_ENDPOINT": doc["jwks_uri"],
        "OIDC_RP_CLIENT_ID": provider.client_id,
        "OIDC_RP_CLIENT_SECRET": secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": " ".join(provider.scopes or ["openid", "email"]),
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_PKCE_CODE_VERIFIER_SIZE": 64,
        "OIDC_STATE_SIZE": 32,
        "OIDC_NONCE_SIZE": 32,
        "OIDC_TIMEOUT": settings.SSO_HTTP_TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_PROXY": None,
        "OIDC_VERIFY_KID": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso-oidc-callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
        "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": 15 * 60,
        "LOGIN_REDIRECT_URL": "/",
        "LOGIN_REDIRECT_URL_FAILURE": "/login/",
    }


def _lookup(values: dict[str, Any], attr: str, *default: Any) -> Any:
    """Tenant settings first; a library default when given; never the global OIDC_* settings."""
    if attr in values:
        return values[attr]
    if default:
        return default[0]
    raise SSORefused("not_configured", f"missing setting {attr}")


class TenantOIDCRequestView(OIDCAuthenticationRequestView):
    """`/sso/oidc/login/`: redirects to the tenant's IdP with state, nonce and a PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:  # the library reads global settings here; we don't
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)
        self._settings: dict[str, Any] = {}

    def get_settings(self, attr: str, *args: Any) -> Any:
        return _lookup(self._settings, attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            _, self._settings = tenant_oidc_settings()
        except SSORefused as exc:
            return refusal_redirect(protocol=Protocol.OIDC, exc=exc)
        self.OIDC_OP_AUTH_ENDPOINT = self._settings["OIDC_OP_AUTHORIZATION_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = self._settings["OIDC_RP_CLIENT_ID"]
        response: HttpResponse = super().get(request)
        request.session["oidc_login_next"] = safe_next(request.GET.get("next"))
        return response


class TenantOIDCCallbackView(OIDCAuthenticationCallbackView):
    """`/sso/oidc/callback/`: checks state, exchanges the code (with the PKCE verifier), signs in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings: dict[str, Any] = {}

    def get_settings(self, attr: str, *args: Any) -> Any:
        return _lookup(self._settings, attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        issuer = ""
        try:
            sso_attempt_check(request=request)
            provider, self._settings = tenant_oidc_settings()
            issuer = provider.issuer
            state = request.GET.get("state", "")
            if request.GET.get("error"):
                super().get(request)  # the library drops the state so it cannot be replayed
                raise SSORefused("idp_error", str(request.GET.get("error"))[:100])
            if not state or state not in (request.session.get("oidc_states") or {}):
                raise SSORefused("state_mismatch")
            if not request.GET.get("code"):
                raise SSORefused("idp_error", "no code")
            response: HttpResponse = super().get(request)
        except SSORefused as exc:
            return refusal_redirect(protocol=Protocol.OIDC, exc=exc, issuer=issuer)
        if not (request.user.is_authenticated and getattr(self, "user", None) == request.user):
            return refusal_redirect(protocol=Protocol.OIDC, exc=SSORefused("idp_error"), issuer=issuer)
        mark_sso_session(request, protocol=Protocol.OIDC, issuer=issuer)
        return response

    @property
    def success_url(self) -> str:
        return safe_next(self.request.session.pop("oidc_login_next", None))


class TenantOIDCBackend(OIDCAuthenticationBackend):
    """Verifies the ID token strictly and maps its claims to a local user (see services)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # settings come per request, see authenticate
        self.UserModel = get_user_model()
        self._settings: dict[str, Any] = {}

    def get_settings(self, attr: str, *args: Any) -> Any:
        return _lookup(self._settings, attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        # Only the callback view (which passes nonce and code_verifier) signs in through OIDC; a
        # password login that happens to carry ?code=&state= never reaches the IdP.
        if request is None or "nonce" not in kwargs or "code_verifier" not in kwargs:
            return None
        self.provider, self._settings = tenant_oidc_settings()
        self.OIDC_OP_TOKEN_ENDPOINT = self._settings["OIDC_OP_TOKEN_ENDPOINT"]
        self.OIDC_OP_USER_ENDPOINT = self._settings["OIDC_OP_USER_ENDPOINT"]
        self.OIDC_OP_JWKS_ENDPOINT = self._settings["OIDC_OP_JWKS_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = self._settings["OIDC_RP_CLIENT_ID"]
        self.OIDC_RP_CLIENT_SECRET = self._settings["OIDC_RP_CLIENT_SECRET"]
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, **kwargs)

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            body = super().get_token(payload)
        except requests.Timeout as exc:
            raise SSORefused("idp_unreachable", "token endpoint timed out") from exc
        except requests.ConnectionError as exc:
            raise SSORefused("idp_unreachable", "token endpoint unreachable") from exc
        except (requests.RequestException, ValueError) as exc:
            raise SSORefused("idp_error", f"token endpoint: {str(exc)[:200]}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            raise SSORefused("idp_error", "token response without an id_token")
        return body

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        header = jwt.get_unverified_header(token)
        keys = _get_json(self.OIDC_OP_JWKS_ENDPOINT).get("keys")
        if not isinstance(keys, list):
            raise SSORefused("idp_error", "JWKS without keys")
        candidates = [
            k
            for k in keys
            if isinstance(k, dict)
            and k.get("kty") == "RSA"
            and k.get("use", "sig") == "sig"
            and k.get("alg", "RS256") == "RS256"
        ]
        kid = header.get("kid")
        if kid is not None:
            candidates = [k for k in candidates if k.get("kid") == kid]
        if len(candidates) != 1:
            raise SSORefused("invalid_token", f"no single signing key for kid {str(kid)[:64]!r}")
        try:
            return jwt.PyJWK(candidates[0], algorithm="RS256")
        except jwt.PyJWKError as exc:
            raise SSORefused("idp_error", "unusable JWK") from exc

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Signature (RS256 from the JWKS), exact iss and aud, exp/iat, then the nonce of this flow."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SSORefused("invalid_token", "malformed token") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise SSORefused("algorithm_not_allowed", str(header.get("alg"))[:20])
        key = self.retrieve_matching_jwk(token)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self._settings["OIDC_OP_ISSUER"],
                leeway=settings.SSO_CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SSORefused("token_expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise SSORefused("wrong_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise SSORefused("wrong_issuer") from exc
        except jwt.PyJWTError as exc:
            raise SSORefused("invalid_token", type(exc).__name__) from exc
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SSORefused("wrong_audience", "azp")
        nonce = kwargs.get("nonce")
        if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), str(nonce)):
            raise SSORefused("nonce_mismatch")
        return claims

    def _claims(self, access_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        claims = dict(payload)
        provider = self.provider
        wanted = (provider.claim_email, "email_verified")
        if any(c not in claims for c in wanted) and self.OIDC_OP_USER_ENDPOINT:
            info = _get_json(self.OIDC_OP_USER_ENDPOINT, headers={"Authorization": f"Bearer {access_token}"})
            if info.get("sub") != payload.get("sub"):
                raise SSORefused("invalid_token", "userinfo sub differs from the ID token")
            claims = {**info, **payload}  # the verified ID token wins
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = self._claims(access_token, payload)
        provider = self.provider
        groups = claims.get(provider.claim_groups) or []
        if isinstance(groups, str):
            groups = [groups]
        verified = claims.get("email_verified")
        identity = ExternalIdentity(
            protocol=Protocol.OIDC,
            issuer=provider.issuer,
            subject=str(claims.get("sub") or ""),
            email=str(claims.get(provider.claim_email) or ""),
            email_verified=verified is True or verified == "true",
            groups=[str(g) for g in groups if isinstance(g, str | int)],
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
        )
        return sso_user_resolve(provider=provider, identity=identity)

    def get_user(self, user_id: Any) -> Any:
        return self.UserModel.objects.filter(pk=user_id, is_active=True).first()
