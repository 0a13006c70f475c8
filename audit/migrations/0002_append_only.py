"""Append-only audit trail, enforced by PostgreSQL in every schema this migration runs in.

The audit app is both shared and per-tenant, so this runs in `public`, in the tenant template
(new tenants are cloned from it, triggers included) and in every existing tenant schema.
Row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE; the chain head
row may only move forward (UPDATE), never be deleted. DROP SCHEMA (tenant purge) is DDL and
unaffected.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION public.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();

DROP TRIGGER IF EXISTS audit_head_keep ON audit_chainhead;
CREATE TRIGGER audit_head_keep BEFORE DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_chainhead;
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_head_keep ON audit_chainhead;
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_chainhead;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_trail")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
