"""The vocabulary of the audit trail: every event an explicit `audit_record` (or a security event)
may write, and whether it changes something (filed under `update`) or not (`access`).

Row changes are not here: django-auditlog records them as create/update/delete (a `User` update
whose diff holds `role` is tagged `role_change`). Free of models, so any module can import it.
"""

# ruff: noqa: S105  (event names, not passwords)

from django.db import models


class AuditEvent(models.TextChoices):
    # sign-in and sessions (accounts)
    LOGIN = "login"
    LOGOUT = "logout"
    REFRESH_REUSE = "refresh_reuse"
    PLATFORM_ACCESS = "platform_access"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGE = "password_change"
    INVITATION_SEND = "invitation_send"
    INVITATION_REVOKE = "invitation_revoke"
    INVITATION_ACCEPT = "invitation_accept"
    EMAIL_SENT = "email_sent"
    EMAIL_FAILED = "email_failed"
    # single sign-on
    SSO_ROLE_CHANGE_REFUSED = "sso_role_change_refused"
    SSO_TOKEN_EXCHANGE = "sso_token_exchange"
    # the trail itself
    AUDIT_READ = "audit_read"
    ROLE_CHANGE = "role_change"  # set on auditlog's entry, never written by audit_record
    # integrations
    SECRET_ROTATE = "secret_rotate"
    REPLAY = "replay"
    SYNC = "sync"
    # security events (audit.security): refusals anyone can provoke
    LOGIN_FAILED = "login_failed"
    TOKEN_TENANT_MISMATCH = "token_tenant_mismatch"
    PERMISSION_DENIED = "permission_denied"
    API_KEY_INVALID = "api_key_invalid"
    WEBHOOK_BAD_SIGNATURE = "webhook_bad_signature"
    SSO_REFUSED = "sso_refused"
    PASSWORD_RESET_REQUEST = "password_reset_request"
    PASSWORD_RESET_INVALID_TOKEN = "password_reset_invalid_token"
    INVITATION_INVALID_TOKEN = "invitation_invalid_token"
    PASSWORD_CHANGE_FAILED = "password_change_failed"


# Events that change something: filed under `update`; every other one under `access`.
CHANGING_EVENTS = frozenset(
    {
        AuditEvent.PASSWORD_RESET,
        AuditEvent.PASSWORD_CHANGE,
        AuditEvent.INVITATION_SEND,
        AuditEvent.INVITATION_REVOKE,
        AuditEvent.INVITATION_ACCEPT,
        AuditEvent.ROLE_CHANGE,
        AuditEvent.SECRET_ROTATE,
        AuditEvent.REPLAY,
        AuditEvent.SYNC,
    }
)
