"""django-tenants' PostgreSQL backend with a table list that reads only the current schema.

`ENGINE = "tenants.db"` in the settings; django-tenants still wraps `ORIGINAL_BACKEND`.
"""

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

from .introspection import SchemaTableIntrospection


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.introspection = SchemaTableIntrospection(self)
