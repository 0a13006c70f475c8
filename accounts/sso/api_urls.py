from django.urls import re_path

from .views import OidcProviderView, SamlProviderView

urlpatterns = [
    re_path(r"^providers/oidc/?$", OidcProviderView.as_view(), name="sso-provider-oidc"),
    re_path(r"^providers/saml/?$", SamlProviderView.as_view(), name="sso-provider-saml"),
]
