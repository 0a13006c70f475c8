from django.urls import re_path

from .sso.views import SsoLoginView, SsoTokenView
from .views import LoginView, LogoutView, MeView, PasswordChangeView, RefreshView

# Every API route answers with and without its trailing slash, without redirects.
urlpatterns = [
    re_path(r"^login/?$", LoginView.as_view(), name="auth-login"),
    re_path(r"^refresh/?$", RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^logout/?$", LogoutView.as_view(), name="auth-logout"),
    re_path(r"^me/?$", MeView.as_view(), name="auth-me"),
    re_path(r"^password/change/?$", PasswordChangeView.as_view(), name="auth-password-change"),
    re_path(r"^sso/login/?$", SsoLoginView.as_view(), name="auth-sso-login"),
    re_path(r"^sso/token/?$", SsoTokenView.as_view(), name="auth-sso-token"),
]
