"""Reads of the active tenant's API keys."""

from django.db.models import QuerySet

from .keys import key_matches, key_prefix
from .models import ApiKey


def api_key_list() -> QuerySet[ApiKey]:
    """The tenant's live keys, newest first (revoked ones stay only in the audit trail's history)."""
    return ApiKey.objects.filter(revoked_at__isnull=True)


def api_key_get(*, key_id: int) -> ApiKey:
    """One live key; ApiKey.DoesNotExist when absent or revoked."""
    return api_key_list().get(pk=key_id)


def api_key_for(*, key: str) -> ApiKey | None:
    """The live key a client presented (looked up by prefix, compared in constant time), or None."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if row is None or not key_matches(key, row.key_hash):
        return None
    return row
