# What the platform uses of django-tenants' abstract models (the package has no type hints):
# enough for mypy's Django plugin to see Tenant and Domain as models.
from typing import Any, ClassVar

from django.db import models

class TenantMixin(models.Model):
    auto_create_schema: ClassVar[bool]
    auto_drop_schema: ClassVar[bool]
    schema_name = models.CharField(max_length=63, unique=True)
    def get_primary_domain(self) -> Any: ...
    def create_schema(
        self, check_if_exists: bool = ..., sync_schema: bool = ..., verbosity: int = ...
    ) -> None: ...

class DomainMixin(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    is_primary = models.BooleanField(default=True)
