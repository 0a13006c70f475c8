"""`?page=&page_size=` (at most 100) -> {"count", "next", "previous", "results"}.

A list view may hand the pagination `CountedRows` instead of a queryset: each page then comes back
with the total count in the same statement (one round trip where Django's Paginator takes two, the
count and then the slice), and the rows as plain dicts."""

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import BigIntegerField, DateTimeField, Func, QuerySet, Subquery, TextField
from django.utils import timezone
from rest_framework import ISO_8601, pagination
from rest_framework.settings import api_settings

_BIGINT = 2**63


@dataclass(frozen=True)
class CountedRows:
    """The rows of a queryset (in its order) as dicts of some of its fields, read a page at a time
    together with the count of all of them: the count is an uncorrelated subquery of the page's
    statement, which PostgreSQL runs once (an InitPlan), unlike `count(*) OVER ()`, which reads
    every row of the result to count it. An empty page carries no count: it is then counted on its
    own. Timestamps come as text, rendered by PostgreSQL as DRF renders them (ApiTimestamp).
    Compiled once (`of`): a caller may keep one for a queryset that never changes."""

    fields: tuple[str, ...]
    page_sql: str  # the rows, their count last; ends with LIMIT %s OFFSET %s
    page_params: tuple[Any, ...]  # but the limit and offset
    count_sql: str
    count_params: tuple[Any, ...]
    using: str

    @classmethod
    def of(cls, queryset: QuerySet[Any], fields: Sequence[str]) -> "CountedRows":
        query = queryset.query
        if query.distinct or query.combinator or query.is_sliced or query.select_for_update:
            raise ValueError("CountedRows counts plain, whole querysets")  # count(*) would lie
        count = queryset.order_by().annotate(_n=Func(template="count(*)", output_field=BigIntegerField()))
        count = count.values("_n")
        columns, texts = list(fields), {}
        if _timestamps_render_in_utc():
            for i, name in enumerate(fields):
                if isinstance(queryset.model._meta.get_field(name), DateTimeField):
                    columns[i] = f"_{name}_text"
                    texts[columns[i]] = ApiTimestamp(name)
        rows = queryset.annotate(**texts, _total=Subquery(count)).values_list(*columns, "_total")
        compiler = rows.query.get_compiler(using=rows.db)
        page_sql, page_params = compiler.as_sql()
        if compiler.get_converters([column for column, _, _ in compiler.select[: len(fields)]]):
            raise ValueError("CountedRows reads plain columns only (no from_db_value converters)")
        count_sql, count_params = count.query.get_compiler(using=count.db).as_sql()
        page_sql = f"{page_sql} LIMIT %s OFFSET %s"
        return cls(tuple(fields), page_sql, tuple(page_params), count_sql, tuple(count_params), rows.db)

    def count(self) -> int:
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.count_sql, self.count_params)
            return int(cursor.fetchone()[0])

    def page(self, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.page_sql, (*self.page_params, limit, offset))
            rows = cursor.fetchall()
        if not rows:
            return [], self.count()
        fields = self.fields
        return [dict(zip(fields, row, strict=False)) for row in rows], int(rows[0][-1])


class ApiTimestamp(Func):
    """A timestamp as text, as DRF's DateTimeField renders it in UTC (ISO 8601, microseconds only
    when there are some, `Z`): PostgreSQL formats it, the process neither parses nor formats it."""

    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', %(expressions)s)"
        """ = %(expressions)s THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    )
    output_field = TextField()


@functools.cache
def _timestamps_render_in_utc() -> bool:
    """Whether DRF renders a timestamp as ApiTimestamp does: ISO 8601, in UTC (USE_TZ, and UTC the
    current time zone: nothing activates another one)."""
    return (
        settings.USE_TZ
        and timezone.get_current_timezone_name() == "UTC"
        and str(api_settings.DATETIME_FORMAT).lower() == ISO_8601
    )


class CountedPaginator(Paginator[Any]):
    """Django's Paginator, which reads a page of `CountedRows` and its count in one statement."""

    def page(self, number: Any) -> Page[Any]:
        rows, wanted = self.object_list, _page_number(number)
        if (
            not isinstance(rows, CountedRows)
            or self.orphans
            or wanted is None  # not an integer, or below 1: Django refuses it without counting
            or wanted > _BIGINT // self.per_page  # past any end: Django counts and says so
        ):
            return super().page(number)
        results, count = rows.page(offset=(wanted - 1) * self.per_page, limit=self.per_page)
        self.__dict__.setdefault("count", count)  # Paginator.count is a cached_property
        return _RowsPage(results, self.validate_number(wanted), self)


class _RowsPage(Page[Any]):
    """A page of rows already in a list: iterated as the list (Page iterates by index, checking
    each index and the list again, about a hundred calls per page of 50)."""

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)


def _page_number(number: Any) -> int | None:
    """`number` as Django's validate_number reads it, None where it refuses it before counting."""
    try:
        if isinstance(number, float) and not number.is_integer():
            return None
        value = int(number)
    except (TypeError, ValueError):
        return None
    return value if value >= 1 else None


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=&page_size=` (at most 100) -> {"count", "next", "previous", "results"}."""

    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = CountedPaginator
