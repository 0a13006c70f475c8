"""SSO API: the tenant's providers and the browser-to-API bridge."""

from urllib.parse import urlencode

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import TENANT_ROLES
from accounts.serializers import TokenPairSerializer
from accounts.tokens import token_pair
from accounts.views import AnonymousAPIView
from audit import services as audit
from audit.events import AuditEvent
from saas.permissions import IsTenantAdmin
from saas.schema import errors
from saas.typing import request_tenant, request_user

from .providers import oidc_provider_update, saml_provider_update
from .redirects import is_safe_next
from .selectors import enabled_protocols, oidc_provider_get, saml_provider_get
from .serializers import (
    OidcProviderInSerializer,
    OidcProviderOutSerializer,
    SamlProviderInSerializer,
    SamlProviderOutSerializer,
    SsoLoginSerializer,
    SsoRedirectSerializer,
)


class OidcProviderView(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(summary="Get the OpenID Connect provider", responses=OidcProviderOutSerializer)
    def get(self, request: Request) -> Response:
        return Response(OidcProviderOutSerializer(oidc_provider_get(), context={"request": request}).data)

    @extend_schema(
        summary="Set the OpenID Connect provider",
        description="`client_secret` is write only; a PUT without it keeps the stored one.",
        request=OidcProviderInSerializer,
        responses=OidcProviderOutSerializer,
    )
    def put(self, request: Request) -> Response:
        data = OidcProviderInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = oidc_provider_update(actor=request_user(request), **data.validated_data)
        return Response(OidcProviderOutSerializer(provider, context={"request": request}).data)


class SamlProviderView(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(summary="Get the SAML provider", responses=SamlProviderOutSerializer)
    def get(self, request: Request) -> Response:
        return Response(SamlProviderOutSerializer(saml_provider_get(), context={"request": request}).data)

    @extend_schema(
        summary="Set the SAML provider",
        description="The IdP's metadata as XML or a URL; the SP metadata is at `/sso/saml/metadata/`.",
        request=SamlProviderInSerializer,
        responses=SamlProviderOutSerializer,
    )
    def put(self, request: Request) -> Response:
        data = SamlProviderInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = saml_provider_update(actor=request_user(request), **data.validated_data)
        return Response(SamlProviderOutSerializer(provider, context={"request": request}).data)


class SsoLoginView(AnonymousAPIView):
    """`POST /api/v1/auth/sso/login`: the URL a browser opens to start this tenant's SSO."""

    @extend_schema(
        summary="Start single sign-on",
        description="The URL a browser opens to sign in through the tenant's identity provider; "
        "`next` is a path on this host. Tenant routes only.",
        operation_id="auth_sso_login",
        request=SsoLoginSerializer,
        responses={200: SsoRedirectSerializer, 404: errors("not_found", description="On the platform host.")},
    )
    def post(self, request: Request) -> Response:
        if request_tenant(request) is None:
            raise Http404
        data = SsoLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        protocol, next_path = data.validated_data["protocol"], data.validated_data["next"]
        errors = {}
        if protocol not in enabled_protocols():
            errors["protocol"] = [f"{protocol} sign-in is not enabled for this tenant."]
        if not is_safe_next(next_path):
            errors["next"] = ["Give a path on this site, starting with a single '/'."]
        if errors:
            raise exceptions.ValidationError(errors)
        url = request.build_absolute_uri(f"/sso/{protocol}/login/?" + urlencode({"next": next_path}))
        return Response({"redirect_url": url})


class BrowserSession(SessionAuthentication):
    """Django's session (and its CSRF check); answers 401, not 403, when there is none."""

    def authenticate_header(self, request: Request) -> str:
        return "Session"


class SsoTokenView(APIView):
    """`POST /api/v1/auth/sso/token`: a browser that finished SSO gets the API token pair."""

    authentication_classes = [BrowserSession]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Exchange a finished SSO browser session for tokens",
        description="With the session cookie and CSRF token of a browser that signed in through SSO.",
        operation_id="auth_sso_token",
        request=None,
        responses={
            200: TokenPairSerializer,
            401: errors("not_authenticated"),
            403: errors("permission_denied", description="CSRF check failed."),
            404: errors("not_found", description="On the platform host."),
        },
    )
    def post(self, request: Request) -> Response:
        if request_tenant(request) is None:
            raise Http404
        sso = request.session.get("sso_login")
        user = request_user(request)
        if not sso or user.role not in TENANT_ROLES:
            raise exceptions.NotAuthenticated("This session did not sign in through single sign-on.")
        audit.audit_record(
            event=AuditEvent.SSO_TOKEN_EXCHANGE,
            target=user,
            actor=user,
            details={"protocol": sso.get("protocol")},
        )
        return Response(token_pair(user=user, tenant=request_tenant(request)))
