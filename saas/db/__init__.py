"""The database backend: django-tenants' PostgreSQL backend, safe behind a transaction pooler."""
