"""user-service webhooks: upsert tenant users by `external_id = data.id`.

`user.updated` needs nothing but the event; `user.created` also fetches the profile (`GET
/users/{id}`) and queues the welcome; `user.deleted` deactivates. Whoever holds the signing secret
(a tenant admin can rotate it) can sign these events, so they may do no more than an admin could:
write only the users the service created (matched by `external_id`, never by email), never an
owner, never a role above `admin`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from accounts.models import Role, User
from accounts.services import USER_SERVICE_ACTOR, normalize_email, user_create, user_deactivate, user_update
from integrations.errors import PermanentError
from integrations.handlers import FetchThenApply, Handler
from integrations.http import fetch_or_none
from integrations.models import WebhookEvent
from integrations.versions import Select, select_compile, version_advance, version_advance_and_fetch
from saas.errors import ApplicationError

from .communication_service import welcome_queue

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


@cache
def _matches_select() -> Select:
    """The users an event may touch (its external id's and its email's holder), compiled once: run
    with the parameters (external_id, email)."""
    select, params = select_compile(User.objects.filter(Q(external_id="<id>") | Q(email="<email>")))
    if params != ["<id>", "<email>"]:
        raise RuntimeError(f"unexpected parameters of the compiled user select: {params}")
    return select


def user_upsert(*, event: WebhookEvent, profile: dict[str, Any] | None = None) -> User | None:
    """Creates or updates the user with `external_id = data.id` unless the event is stale.

    The service only writes the users it created: it never takes over an existing account by its
    email (PermanentError, so the event goes to `dead` with the reason), never changes an owner,
    and grants at most `admin`: an event can do no more than its signer could through the
    API. An email already held by another synced user is a PermanentError too. Non-empty names in
    `profile` (the service's `GET /users/{id}`) win over the event's."""
    fields = _user_data(event)
    for field in ("first_name", "last_name"):
        value = str((profile or {}).get(field) or "")[:150]
        if value:
            fields[field] = value
    current, matches = version_advance_and_fetch(
        object_type="user",
        object_id=fields["external_id"],
        occurred_at=event.occurred_at,
        event_id=event.event_id,
        select=(_matches_select(), [fields["external_id"], fields["email"]]),
    )
    if not current:
        event.stale = True
        return None
    user = next((u for u in matches if u.external_id == fields["external_id"]), None)
    holder = next((u for u in matches if u.email == fields["email"] and u is not user), None)
    if holder is not None and holder.external_id is None:
        raise PermanentError(
            f"{fields['email']} belongs to an account the user service did not create; a webhook never "
            "takes over an existing account (change the email at the service, or remove the local account)"
        )
    if holder is not None:
        raise PermanentError("another user already has this email")
    with _refusals_permanent(fields["external_id"]):
        if user is None:
            # Synced users get an unusable password: they sign in through SSO or a password reset.
            return user_create(
                actor=USER_SERVICE_ACTOR,
                email=fields["email"],
                password=None,
                role=fields["role"] or Role.MEMBER,
                first_name=fields["first_name"],
                last_name=fields["last_name"],
                external_id=fields["external_id"],
                savepoint=False,  # the engine undoes a failed handler (see user_create)
                email_checked=True,  # nobody holds it: `matches` holds whoever did, read just now
            )
        changes = {k: fields[k] for k in ("email", "first_name", "last_name")}
        return user_update(
            actor=USER_SERVICE_ACTOR,
            user=user,
            **changes,
            **({"role": fields["role"]} if fields["role"] else {}),
            savepoint=False,
        )


@contextmanager
def _refusals_permanent(external_id: str) -> Iterator[None]:
    """The accounts rules refuse (an owner, a role above admin, a taken email): the event is dead
    with the reason, never retried."""
    try:
        yield
    except ApplicationError as exc:
        raise PermanentError(f"user {external_id}: {exc.message}") from exc
    except ValidationError as exc:
        raise PermanentError(f"user {external_id}: {'; '.join(exc.messages)}") from exc


def user_updated(event: WebhookEvent) -> None:
    """`user.updated` `data: {"id", "email", "first_name", "last_name", "role"?}`: upsert, stale-safe."""
    user_upsert(event=event)


# ---------------------------------------------------------------------------------------------
# user.created / user.deleted and the service's API
# ---------------------------------------------------------------------------------------------


def user_fetch(*, external_id: str) -> dict[str, Any] | None:
    """`GET {base_url}/users/{id}`: the service's current profile, None when unknown or unconfigured.

    Timeouts, 5xx and an open breaker propagate (the engine retries or reschedules the event)."""

    return fetch_or_none("user-service", f"/users/{quote(external_id, safe='')}")


def user_created_fetch(event: WebhookEvent) -> dict[str, Any] | None:
    """The fetch step of `user.created`: the service's profile of the user (None when unknown)."""
    return user_fetch(external_id=_user_data(event)["external_id"])


def user_created(event: WebhookEvent, profile: dict[str, Any] | None) -> None:
    """`user.created` `data: {"id", "email", "first_name", "last_name", "role"?}`: upsert the user with
    its profile from `GET /users/{id}` (fetched before the transaction), then queue the welcome
    message (once per user; sent after the commit).

    Stale (a newer event for the user was applied first): nothing is overwritten, but the user
    still gets a welcome if it exists, is active and never had one."""

    user = user_upsert(event=event, profile=profile)
    if user is None:
        user = User.objects.filter(external_id=_user_data(event)["external_id"]).first()
    if user is not None and user.is_active and user.role != Role.OWNER:
        welcome_queue(user=user)


def user_deleted(event: WebhookEvent) -> None:
    """`user.deleted` `data: {"id", ...}`: deactivates the user (owners are never deactivated by a
    service). Its version is recorded even for an unknown user, so a late `user.created` is stale."""
    data = event.payload.get("data") or {}
    external_id = data.get("id")
    if not isinstance(external_id, str | int) or not str(external_id):
        raise PermanentError("data.id is required")
    if not version_advance(
        object_type="user",
        object_id=str(external_id),
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    ):
        event.stale = True
        return
    for user in User.objects.filter(external_id=str(external_id), is_active=True):
        with _refusals_permanent(str(external_id)):
            user_deactivate(actor=USER_SERVICE_ACTOR, user=user, savepoint=False)


HANDLERS: dict[str, Handler] = {
    "user.created": FetchThenApply(fetch=user_created_fetch, apply=user_created),
    "user.updated": user_updated,
    "user.deleted": user_deleted,
}
