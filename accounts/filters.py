"""Query filters of the users list: `?role=`, `?is_active=`, `?search=`; an invalid value is a 400."""

import django_filters
from django.db.models import QuerySet

from .models import TENANT_ROLES, User
from .selectors import user_search


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
