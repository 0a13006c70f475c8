"""Query filters of the users list (`?role=`, `?is_active=`, `?search=`) and the invitations list
(`?status=`, pending when absent); an invalid value is a 400."""

import django_filters
from django.db.models import QuerySet

from .models import TENANT_ROLES, Invitation, InvitationStatus, User
from .selectors import invitation_in_state, user_search


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=[(r.value, r.value) for r in TENANT_ROLES])
    is_active = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )
    search = django_filters.CharFilter(max_length=100, method="filter_search")

    class Meta:
        model = User
        fields = ["role", "is_active", "search"]

    def filter_search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return user_search(users=queryset, text=value)


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(s.value, s.value) for s in InvitationStatus], method="filter_status"
    )

    class Meta:
        model = Invitation
        fields = ["status"]

    def filter_status(self, queryset: QuerySet[Invitation], name: str, value: str) -> QuerySet[Invitation]:
        return invitation_in_state(invitations=queryset, state=value)

    def filter_queryset(self, queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):  # the list's default: the pending ones
            queryset = invitation_in_state(invitations=queryset, state=InvitationStatus.PENDING)
        return queryset
