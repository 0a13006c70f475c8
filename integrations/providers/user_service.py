"""user-service webhooks (contract section 7): upsert tenant users by `external_id = data.id`.

`user.updated` is the engine's reference handler; issue 6 adds `user.created` / `user.deleted` and
the service's API calls here.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Role, User
from accounts.services import normalize_email, user_create
from integrations.errors import PermanentError
from integrations.models import WebhookEvent
from integrations.versions import version_advance

# A webhook may set these roles; owners are only ever made inside the platform.
SYNCABLE_ROLES = (Role.ADMIN, Role.MEMBER)


def _user_data(event: WebhookEvent) -> dict[str, Any]:
    data = event.payload.get("data") or {}
    external_id, email = data.get("id"), data.get("email")
    if not isinstance(external_id, str | int) or not str(external_id):
        raise PermanentError("data.id is required")
    if not isinstance(email, str):
        raise PermanentError("data.email is required")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise PermanentError("data.email is not a valid email") from exc
    return {
        "external_id": str(external_id),
        "email": normalize_email(email),
        "first_name": str(data.get("first_name") or "")[:150],
        "last_name": str(data.get("last_name") or "")[:150],
        "role": data.get("role") if data.get("role") in SYNCABLE_ROLES else None,
    }


def user_upsert(*, event: WebhookEvent) -> User | None:
    """Creates or updates the user with `external_id = data.id` unless the event is stale.

    A local user with the same email and no external id is linked rather than duplicated."""
    fields = _user_data(event)
    if not version_advance(
        object_type="user",
        object_id=fields["external_id"],
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    ):
        event.stale = True
        return None
    user = (
        User.objects.filter(external_id=fields["external_id"]).first()
        or User.objects.filter(email=fields["email"], external_id__isnull=True).first()
    )
    if user is None:
        if User.objects.filter(email=fields["email"]).exists():
            raise PermanentError("another synced user already has this email")
        return user_create(
            email=fields["email"],
            password=None,
            role=fields["role"] or Role.MEMBER,
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            external_id=fields["external_id"],
        )
    if User.objects.filter(email=fields["email"]).exclude(pk=user.pk).exists():
        raise PermanentError("another user already has this email")
    user.external_id = fields["external_id"]
    user.email = fields["email"]
    user.first_name = fields["first_name"]
    user.last_name = fields["last_name"]
    if fields["role"] and user.role != Role.OWNER:
        user.role = fields["role"]
    user.save()
    return user


def user_updated(event: WebhookEvent) -> None:
    """`user.updated` `data: {"id", "email", "first_name", "last_name", "role"?}`: upsert, stale-safe."""
    user_upsert(event=event)


HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {
    "user.updated": user_updated,
}
