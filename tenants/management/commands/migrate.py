"""`migrate` is `migrate_schemas` here, as with django-tenants, but template aware."""

from .migrate_schemas import Command

__all__ = ["Command"]
