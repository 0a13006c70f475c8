"""Filters of the platform's tenants list: `?status=`, `?plan=`, `?search=`; an invalid value is a 400."""

import django_filters
from django.db.models import QuerySet

from .models import Plan, Tenant, TenantStatus
from .selectors import tenant_search


class TenantFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TenantStatus.choices)
    plan = django_filters.ChoiceFilter(choices=Plan.choices)
    search = django_filters.CharFilter(max_length=253, method="filter_search")

    class Meta:
        model = Tenant
        fields = ["status", "plan", "search"]

    def filter_search(self, queryset: QuerySet[Tenant], name: str, value: str) -> QuerySet[Tenant]:
        return tenant_search(tenants=queryset, text=value)
