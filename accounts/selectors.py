"""Reads of users in the active schema (a tenant's users, or platform staff in public)."""

import functools
from collections.abc import Sequence

from django.db.models import Q, QuerySet
from django.utils import timezone

from saas.pagination import CountedRows

from .models import Invitation, InvitationStatus, User


def user_list() -> QuerySet[User]:
    """Every user of the active schema, in id order (inactive ones included)."""
    return User.objects.order_by("id")


def user_rows(*, fields: Sequence[str], users: QuerySet[User] | None = None) -> CountedRows:
    """`users` (every user of the active schema when None, in id order) as plain rows of `fields`,
    paged with their count in one statement (saas.pagination)."""
    if users is None:
        return _all_user_rows(tuple(fields))
    return CountedRows.of(users, fields)


@functools.cache
def _all_user_rows(fields: tuple[str, ...]) -> CountedRows:
    # Compiled once per process: the statement names no schema (the search_path picks the
    # tenant's) and no value, and compiling it cost more than reading a page.
    return CountedRows.of(user_list(), fields)


def user_search(*, users: QuerySet[User], text: str) -> QuerySet[User]:
    """Users whose email, first or last name contains `text`, case-insensitively."""
    text = text.strip()
    if not text:
        return users
    return users.filter(
        Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text)
    )


def user_get(*, user_id: int) -> User:
    """One user of the active schema; User.DoesNotExist when absent."""
    return User.objects.get(pk=user_id)


def invitation_list() -> QuerySet[Invitation]:
    """Every invitation of the active schema, newest first."""
    return Invitation.objects.order_by("-created_at", "-id")


def invitation_in_state(*, invitations: QuerySet[Invitation], state: str) -> QuerySet[Invitation]:
    """Invitations in the state the API shows (`Invitation.state`): a pending one past its expiry
    is `expired`."""
    now = timezone.now()
    if state == InvitationStatus.PENDING:
        return invitations.filter(status=InvitationStatus.PENDING, expires_at__gt=now)
    if state == InvitationStatus.EXPIRED:
        return invitations.filter(
            Q(status=InvitationStatus.EXPIRED) | Q(status=InvitationStatus.PENDING, expires_at__lte=now)
        )
    return invitations.filter(status=state)


def invitation_get(*, invitation_id: int) -> Invitation:
    """One invitation of the active schema; Invitation.DoesNotExist when absent."""
    return Invitation.objects.get(pk=invitation_id)
