"""Reads of users in the active schema (a tenant's users, or platform staff in public)."""

from django.db.models import Q, QuerySet

from .models import User


def user_list() -> QuerySet[User]:
    """Every user of the active schema, in id order (inactive ones included)."""
    return User.objects.order_by("id")


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
