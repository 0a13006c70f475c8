"""`/api/v1/auth/...` routes that only tenants have: password reset and accepting an invitation."""

from django.urls import re_path

from .views import InvitationAcceptView, PasswordResetConfirmView, PasswordResetView

urlpatterns = [
    re_path(r"^password/reset/?$", PasswordResetView.as_view(), name="auth-password-reset"),
    re_path(
        r"^password/reset/confirm/?$", PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"
    ),
    re_path(r"^invitations/accept/?$", InvitationAcceptView.as_view(), name="auth-invitation-accept"),
]
