"""The database backend: django-tenants' PostgreSQL backend, safe behind a transaction pooler, with
a table list that reads only the current schema (introspection.py)."""
