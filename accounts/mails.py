"""What the accounts app mails: password reset links and invitations (builders of accounts.mail.registry).

They run in the worker when the mail is sent, in the tenant's schema, and make the link's token
then: the outbox row holds only the address (reset) or the invitation's id.
"""

from django.conf import settings

from accounts.mail.models import Email
from accounts.mail.registry import EmailContent, email_kind

from .models import TENANT_ROLES, Invitation, InvitationStatus, User
from .sso.selectors import enabled_protocols
from .tokens import invitation_token, password_reset_token


@email_kind("password_reset")
def password_reset_mail(email: Email) -> EmailContent | None:
    """A reset link for the active user with that email; for a user who signs in only through the
    tenant's identity provider (no usable password, SSO enabled), a pointer to it instead; nothing
    for an unknown or inactive email (the request got the same answer anyway)."""
    user = User.objects.filter(email=email.to, is_active=True, role__in=TENANT_ROLES).first()
    if user is None:
        return None
    protocols = enabled_protocols()
    if not user.has_usable_password() and protocols:
        return EmailContent("email/password_reset_sso", {"user": user, "login_path": "/login/"})
    return EmailContent(
        "email/password_reset",
        {
            "user": user,
            "reset_path": f"/password/reset/{password_reset_token(user=user)}/",
            "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )


@email_kind("invitation")
def invitation_mail(email: Email) -> EmailContent | None:
    """The invitation's link, while it is still pending (a revoked one sends nothing)."""
    invitation = Invitation.objects.filter(
        pk=email.params.get("invitation_id"), status=InvitationStatus.PENDING
    ).first()
    if invitation is None:
        return None
    inviter = invitation.invited_by
    return EmailContent(
        "email/invitation",
        {
            "invitation": invitation,
            "inviter": "the platform's staff" if inviter.startswith("platform:") else inviter,
            "accept_path": f"/invitations/{invitation_token(invitation=invitation)}/",
        },
    )
