"""The database roles' policy and the owner's tenant-schema functions (tenants/roles.py).

- `saas_grant_app(schema, role)`: the app role's privileges on one schema. USAGE on the schema
  (never CREATE); SELECT, INSERT, UPDATE, DELETE on its tables and USAGE, SELECT on its sequences;
  then the audit trail only SELECT, INSERT (`audit_auditentry`) and SELECT, INSERT, UPDATE
  (`audit_chainhead`); SELECT only on the template snapshot, on `django_migrations` and on the
  whole template schema (new tenants copy its rows). TRUNCATE nowhere. `migrate_schemas`
  calls it for every schema it migrates; only the owner may call it.
- `saas_tenant_schema_create(schema)`: run by the app role at tenant creation, as the owner
  (SECURITY DEFINER). Checks the name, reads the current template snapshot itself (the caller passes
  no SQL), creates the schema, replays the snapshot and gives the new schema the template's
  grantees. False, with nothing done, when the snapshot is missing or behind the template.
- `saas_tenant_schema_drop(schema)`: the same for a purge.

The literals 't_' and 'tenant_template' are settings.TENANT_SCHEMA_PREFIX and TENANT_BASE_SCHEMA.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION public.saas_grant_app(schema_name text, app_role text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regnamespace(quote_ident(schema_name)) IS NULL THEN
        RETURN;  -- a purged tenant's row outlives its schema
    END IF;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, %I', schema_name, app_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, app_role);
    -- Revoked first, so the grants below are the whole of what the app role holds.
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, %I', schema_name, app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   schema_name, app_role);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, %I', schema_name, app_role);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', schema_name, app_role);
    -- The audit trail is append-only; the chain head row moves forward but never goes away.
    IF to_regclass(format('%I.audit_auditentry', schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE UPDATE, DELETE ON %I.audit_auditentry FROM %I', schema_name, app_role);
    END IF;
    IF to_regclass(format('%I.audit_chainhead', schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE DELETE ON %I.audit_chainhead FROM %I', schema_name, app_role);
    END IF;
    -- Replayed as the owner by saas_tenant_schema_create: only migrations may write it.
    IF to_regclass(format('%I.tenants_templatesnapshot', schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.tenants_templatesnapshot FROM %I',
                       schema_name, app_role);
    END IF;
    -- Only migrations record what they applied (a forged row would make them skip a migration).
    IF to_regclass(format('%I.django_migrations', schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.django_migrations FROM %I', schema_name, app_role);
    END IF;
    -- Nothing routes to the template and every new tenant is a copy of its rows: read-only.
    IF schema_name = 'tenant_template' THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I FROM %I', schema_name, app_role);
    END IF;
    IF schema_name = 'public' THEN
        EXECUTE format('GRANT EXECUTE ON FUNCTION public.saas_tenant_schema_create(text), '
                       'public.saas_tenant_schema_drop(text) TO %I', app_role);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION public.saas_grant_app(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.saas_tenant_schema_create(schema_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    snapshot record;
    template_fingerprint text;
    grantee name;
BEGIN
    IF schema_name !~ '^t_[a-z][a-z0-9_]{1,30}$' THEN
        RAISE EXCEPTION 'not a tenant schema name: %', schema_name USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF to_regnamespace('tenant_template') IS NULL THEN
        RETURN false;
    END IF;
    SELECT s.fingerprint, s.sql INTO snapshot FROM public.tenants_templatesnapshot s WHERE s.id = 1;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- The same fingerprint as tenants.template.template_fingerprint().
    SELECT count(*) || ':' || coalesce(max(m.id), 0) INTO template_fingerprint
      FROM tenant_template.django_migrations m;
    IF snapshot.fingerprint IS DISTINCT FROM template_fingerprint THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    EXECUTE replace(snapshot.sql, '{schema}.', quote_ident(schema_name) || '.');
    -- The new tenant's privileges are the template's: whoever migrate_schemas granted them to.
    FOR grantee IN
        SELECT DISTINCT r.rolname
          FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
         WHERE n.nspname = 'tenant_template' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner
    LOOP
        PERFORM public.saas_grant_app(schema_name, grantee);
    END LOOP;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION public.saas_tenant_schema_create(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.saas_tenant_schema_drop(schema_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF schema_name !~ '^t_[a-z][a-z0-9_]{1,30}$' THEN
        RAISE EXCEPTION 'not a tenant schema name: %', schema_name USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF to_regnamespace(quote_ident(schema_name)) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION public.saas_tenant_schema_drop(text) FROM PUBLIC;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS public.saas_tenant_schema_drop(text);
DROP FUNCTION IF EXISTS public.saas_tenant_schema_create(text);
DROP FUNCTION IF EXISTS public.saas_grant_app(text, text);
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_tenant_purged_at")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
