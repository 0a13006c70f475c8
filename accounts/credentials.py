"""Retention of ended credentials: rows that stop mattering once their token or session has expired."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tenants.due import active_schemas, activity_mark

from .models import RevokedAccessToken


def credentials_schemas(*, now: datetime | None = None) -> list[str]:
    """Tenants that may hold expired credentials: those that wrote one (tenants.due.activity_mark,
    on every new token, revocation or session) within the longest credential lifetime and a day."""
    lifetime = max(
        settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"], timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )
    return active_schemas(since=(now or timezone.now()) - lifetime - timedelta(days=1))


def credentials_written(**kwargs: object) -> None:
    """post_save of a credential: its tenant counts as active for the pruning (at most one write an
    hour; a few milliseconds beside a sign-in's password hash)."""
    if kwargs.get("created"):
        activity_mark()


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
