"""The audit trail: row changes (django-auditlog) and explicit entries, hash-chained per schema."""

from .core import SECRET_KEY, env

AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"  # append-only, hash-chained, one table per schema
# auditlog's migrations would create a table for its own LogEntry, which the line above swaps out
# and nothing reads: without them it has no table (audit migration 0003 drops the old ones).
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_STORE_JSON_CHANGES = True  # diffs keep their JSON types (ints, bools, null)
AUDITLOG_DISABLE_ON_RAW_SAVE = True  # fixture loading is not a change anyone made
AUDITLOG_MASK_CALLABLE = "audit.masking.mask_secret"  # secrets: never even a partial value
# Key of the HMAC chain: outside the database, so rows written around the app can't be re-chained.
# Keep it stable: changing it makes verify_audit reject every existing entry.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default=f"audit-chain:{SECRET_KEY}")
# Security events (failed sign-ins, foreign tokens, permission denials, forged webhooks, refused
# SSO answers): per schema, kind, source and minute the first AUDIT_SECURITY_BURST are written
# as they happen, the rest counted in Redis and written as one entry per source when the minute
# closes (celery.py schedules the flush); at most AUDIT_SECURITY_SOURCES_PER_MINUTE sources per
# kind and minute (then "*").
AUDIT_SECURITY_BURST = env.int("AUDIT_SECURITY_BURST", default=5)
AUDIT_SECURITY_SOURCES_PER_MINUTE = env.int("AUDIT_SECURITY_SOURCES_PER_MINUTE", default=20)
AUDIT_SECURITY_KEEP_SECONDS = 7 * 24 * 3600  # counts not flushed by then (beat stopped a week) expire
AUDIT_SECURITY_KEY_PREFIX = "saas:sec:"
