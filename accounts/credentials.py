"""Retention of ended credentials: rows that stop mattering once their token or session has expired."""

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from .models import RevokedAccessToken


def prune_expired_credentials(schema: str) -> dict[str, int]:
    """Deletes, in `schema`, what has expired: revoked access tokens, outstanding refresh tokens (with
    their blacklist rows, as simplejwt's `flushexpiredtokens` does) and browser sessions. An expired
    token is refused by its signature's `exp` already, so none of them is needed to refuse it.

    Returns the rows deleted per kind. Not audited: nobody's access changes."""
    now = timezone.now()
    with schema_context(schema):
        revoked, _ = RevokedAccessToken.objects.filter(expires_at__lte=now).delete()
        outstanding = OutstandingToken.objects.filter(expires_at__lte=now)
        refresh = outstanding.count()
        outstanding.delete()  # cascades to BlacklistedToken
        sessions, _ = Session.objects.filter(expire_date__lte=now).delete()
    return {"revoked_access_tokens": revoked, "outstanding_tokens": refresh, "sessions": sessions}
