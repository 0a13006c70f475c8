"""Nothing rewrites the trail through the application: ORM, raw SQL, admin, auditlog's flush.

Two locks: the app role the application connects as holds no UPDATE, DELETE or TRUNCATE on the
trail ("permission denied"), and the triggers refuse them to the owner role too ("append-only").
"""

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role
from audit.models import AuditEntry, ChainHead
from tenants.models import Tenant
from tenants.services import tenant_delete
from tests.audit.helpers import count
from tests.conftest import owner_cursor
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db


def _refused(action) -> None:
    with pytest.raises(DatabaseError, match=r"append-only|permission denied"), transaction.atomic():
        action()


@pytest.fixture
def alpha_trail(tenant_a, make_user):
    make_user(tenant_a)  # at least one entry of this test's own
    with schema_context(tenant_a.schema_name):
        yield AuditEntry.objects.order_by("-seq").first()


def test_orm_update_and_delete_are_refused(tenant_a, alpha_trail):
    before = count(tenant_a)
    entry = alpha_trail
    with schema_context(tenant_a.schema_name):
        entry.actor = "someone-else"
        _refused(entry.save)
        _refused(lambda: AuditEntry.objects.filter(pk=entry.pk).update(actor="x"))
        _refused(entry.delete)
        _refused(lambda: AuditEntry.objects.all().delete())
        assert AuditEntry.objects.get(pk=entry.pk).actor != "someone-else"
    assert count(tenant_a) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET actor = 'x'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "TRUNCATE audit_auditentry CASCADE",
        "DELETE FROM audit_chainhead",
        "TRUNCATE audit_chainhead",
    ],
)
@pytest.mark.parametrize("schema", ["public", "alpha"])
def test_raw_sql_is_refused_in_every_schema(tenant_a, alpha_trail, platform_admin, sql, schema):
    target = None if schema == "public" else tenant_a
    before = count(target)
    with schema_context(target.schema_name if target else "public"):

        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)

        _refused(run)
    assert count(target) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET actor = 'x'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "DELETE FROM audit_chainhead",
        "TRUNCATE audit_chainhead",
    ],
)
@pytest.mark.parametrize("schema", ["public", "alpha"])
def test_raw_sql_is_refused_to_the_owner_role_too(tenant_a, sql, schema):
    with owner_cursor(tenant_a.schema_name if schema == "alpha" else "public") as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditentry")
        before = cursor.fetchone()[0]
        with pytest.raises(psycopg.Error, match="append-only"):
            cursor.execute(sql)
        cursor.connection.rollback()
        cursor.execute("SELECT count(*) FROM audit_auditentry")
        assert cursor.fetchone()[0] == before >= 1


def test_auditlog_flush_command_cannot_delete_entries(tenant_a, alpha_trail):
    before_public, before_alpha = count(None), count(tenant_a)
    for schema in ("public", tenant_a.schema_name):
        with schema_context(schema):
            _refused(lambda: call_command("auditlogflush", "--yes"))
            _refused(lambda: call_command("auditlogflush", "--yes", "--truncate"))
    assert (count(None), count(tenant_a)) == (before_public, before_alpha)


def _session_client(user, tenant):
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost" if tenant else "localhost")
    with schema_context(tenant.schema_name if tenant else "public"):
        client.force_login(user)
    return client


def test_tenant_admin_cannot_change_or_delete_entries_even_with_a_forged_post(
    tenant_a, make_user, alpha_trail
):
    client = _session_client(make_user(tenant_a, Role.OWNER), tenant_a)
    before = count(tenant_a)
    entry = alpha_trail
    base = f"/admin/audit/auditentry/{entry.pk}"
    assert client.get(f"{base}/change/").status_code == 200  # a read-only view
    page = client.get(f"{base}/change/").content.decode()
    assert 'name="_save"' not in page
    assert client.post(f"{base}/change/", {"actor": "forged", "action": 2}).status_code == 403
    assert client.get(f"{base}/delete/").status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/audit/auditentry/add/", {"actor": "forged"}).status_code == 403
    changelist = client.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302, 403)
    assert count(tenant_a) == before
    with schema_context(tenant_a.schema_name):
        assert AuditEntry.objects.get(pk=entry.pk).actor == entry.actor


def test_platform_admin_cannot_change_or_delete_entries(platform_admin):
    client = _session_client(platform_admin, None)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    before = count(None)
    base = f"/admin/audit/auditentry/{entry.pk}"
    assert client.post(f"{base}/change/", {"actor": "forged"}).status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert count(None) == before


def test_template_and_new_tenants_carry_the_triggers(tenant_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname LIKE 'audit_%%' "
            "GROUP BY n.nspname"
        )
        triggers = dict(cursor.fetchall())
    for schema in ("public", "tenant_template", tenant_a.schema_name):
        assert triggers.get(schema) == 4, (schema, triggers)


def test_purging_a_tenant_still_drops_its_schema_and_trail(django_db_blocker):
    tenant = make_tenant("purgeme")  # inside this test's transaction: rolled back afterwards
    assert count(tenant) >= 1
    tenant_delete(tenant=Tenant.objects.get(slug="purgeme"), purge=True)
    assert not schema_exists(tenant.schema_name)


def test_the_chain_head_cannot_be_deleted(tenant_a, alpha_trail):
    with schema_context(tenant_a.schema_name):
        _refused(lambda: ChainHead.objects.all().delete())
        assert ChainHead.objects.get(pk=1).seq == alpha_trail.seq
