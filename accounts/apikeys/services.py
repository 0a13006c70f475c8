"""Writes of API keys: create (the role rules of the users API), revoke, and the last-use stamp."""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import role_grant_check
from audit.context import actor_label

from .keys import key_digest, key_generate
from .models import ApiKey

# last_used_at is kept to this resolution: a key in steady use costs one UPDATE a minute, not one
# per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_create(*, actor: Any, name: str, role: str) -> tuple[ApiKey, str]:
    """Makes a key acting with `role` (a tenant role, at most the actor's own: ValidationError or 403).

    Returns the row and the key, which exists nowhere else: only its digest is stored. The creation
    is audited as a row change (never the digest). A live key's name is unique (400)."""
    role_grant_check(actor=actor, role=role)
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["This field may not be blank."]})
    if ApiKey.objects.filter(name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": ["A live API key already has this name."]})
    for _attempt in range(3):  # a prefix clash (48 random bits) is next to impossible; retried anyway
        key, prefix = key_generate()
        row = ApiKey(
            name=name, prefix=prefix, key_hash=key_digest(key), role=role, created_by=actor_label(actor)
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            if ApiKey.objects.filter(name=name, revoked_at__isnull=True).exists():
                raise ValidationError({"name": ["A live API key already has this name."]}) from None
            continue
        return row, key
    raise RuntimeError("could not draw a free API key prefix")


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revokes a key: the very next request with it is refused (401). Audited as a row change."""
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Stamps `last_used_at`, at most once per LAST_USED_RESOLUTION per key (a plain UPDATE: not audited).

    The conditional UPDATE lets concurrent requests race harmlessly: one of them writes."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
