"""Browser routes of SSO on tenant hosts."""

from django.urls import path

from .oidc import TenantOIDCCallbackView, TenantOIDCRequestView
from .saml import SamlFinishView, TenantSamlAcsView, TenantSamlLoginView, TenantSamlMetadataView

urlpatterns = [
    path("oidc/login/", TenantOIDCRequestView.as_view(), name="sso-oidc-login"),
    path("oidc/callback/", TenantOIDCCallbackView.as_view(), name="sso-oidc-callback"),
    path("saml/login/", TenantSamlLoginView.as_view(), name="sso-saml-login"),
    path("saml/acs/", TenantSamlAcsView.as_view(), name="sso-saml-acs"),
    path("saml/finish/", SamlFinishView.as_view(), name="sso-saml-finish"),
    path("saml/metadata/", TenantSamlMetadataView.as_view(), name="sso-saml-metadata"),
]
