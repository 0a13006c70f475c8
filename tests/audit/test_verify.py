"""`verify_audit` catches altered, removed and inserted entries and exits non-zero.

Tampering is simulated as a database superuser would do it: the append-only triggers are
dropped inside the test's transaction (rolled back with it)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AuditEntry
from tests.audit.helpers import trail

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_chain(tenant_a, make_user):
    for _ in range(4):
        make_user(tenant_a)
    return trail(tenant_a)


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=out)
    return out.getvalue()


def _broken(*args: str) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("verify_audit", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def _superuser_sql(tenant, sql: str, params=()) -> None:
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_entry_append_only ON audit_auditentry")
        cursor.execute(sql, params)


def test_an_intact_chain_passes(tenant_a, tenant_b, alpha_chain):
    output = _verify()
    assert "public: OK" in output
    assert f"{tenant_a.schema_name}: OK, {len(alpha_chain)} entries" in output
    assert f"{tenant_b.schema_name}: OK" in output
    assert f"{tenant_a.schema_name}: OK" in _verify("--tenant", "alpha")


def test_an_altered_entry_is_named(tenant_a, alpha_chain):
    victim = alpha_chain[2]
    _superuser_sql(
        tenant_a,
        'UPDATE audit_auditentry SET changes = \'{"role": [null, "owner"]}\' WHERE id = %s',
        [victim.pk],
    )
    message = _broken("--tenant", "alpha")
    assert f"entry {victim.pk} (seq {victim.seq}) was altered" in message


def test_an_altered_timestamp_or_actor_is_caught(tenant_a, alpha_chain):
    victim = alpha_chain[1]
    _superuser_sql(tenant_a, "UPDATE audit_auditentry SET actor = 'someone-else' WHERE id = %s", [victim.pk])
    assert f"entry {victim.pk} (seq {victim.seq}) was altered" in _broken("--tenant", "alpha")


def test_a_deleted_entry_is_named(tenant_a, alpha_chain):
    victim, successor = alpha_chain[2], alpha_chain[3]
    _superuser_sql(tenant_a, "DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])
    message = _broken("--tenant", "alpha")
    assert f"entries removed before entry {successor.pk}" in message
    assert f"seq {victim.seq} missing" in message


def test_entries_deleted_from_the_end_are_caught_by_the_head(tenant_a, alpha_chain):
    _superuser_sql(tenant_a, "DELETE FROM audit_auditentry WHERE id = %s", [alpha_chain[-1].pk])
    assert f"entries after seq {alpha_chain[-2].seq} were removed" in _broken("--tenant", "alpha")


def test_renumbering_to_hide_a_deletion_is_caught(tenant_a, alpha_chain):
    victim = alpha_chain[2]
    _superuser_sql(tenant_a, "DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])
    with schema_context(tenant_a.schema_name), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET seq = seq - 1 WHERE seq > %s", [victim.seq])
        cursor.execute("UPDATE audit_chainhead SET seq = seq - 1")
    assert "does not follow the entry before it" in _broken("--tenant", "alpha")


def test_an_inserted_entry_is_named(tenant_a, alpha_chain):
    """A row written around the application (no chain key) is caught, wherever it is put."""
    head = alpha_chain[-1]
    with schema_context(tenant_a.schema_name):
        forged = AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    seq=head.seq + 1,
                    prev_hash=head.chain_hash,
                    chain_hash="0" * 64,
                    actor="owner@alpha.test",
                    action=2,
                    object_type="accounts.user",
                    object_pk="1",
                )
            ]
        )[0]
    assert f"entry {forged.pk} (seq {forged.seq}) was inserted after the chain head" in _broken(
        "--tenant", "alpha"
    )


def test_an_entry_inserted_in_the_middle_is_named(tenant_a, alpha_chain):
    middle = alpha_chain[1]
    _superuser_sql(tenant_a, "UPDATE audit_auditentry SET seq = seq + 1000 WHERE seq > %s", [middle.seq])
    with schema_context(tenant_a.schema_name):
        forged = AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    seq=middle.seq + 1,
                    prev_hash=middle.chain_hash,
                    chain_hash="f" * 64,
                    actor="owner@alpha.test",
                    action=0,
                    object_type="accounts.user",
                    object_pk="99",
                )
            ]
        )[0]
    assert f"entry {forged.pk} (seq {forged.seq}) was altered" in _broken("--tenant", "alpha")


def test_a_chain_copied_from_another_tenant_does_not_verify(tenant_a, tenant_b, alpha_chain):
    """Entries are bound to their schema: a valid chain transplanted elsewhere fails at once."""
    with schema_context(tenant_b.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditentry")
        assert cursor.fetchone()[0] >= 1
    _superuser_sql(tenant_b, "DELETE FROM audit_auditentry")
    with schema_context(tenant_b.schema_name), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_auditentry SELECT * FROM {tenant_a.schema_name}.audit_auditentry"  # noqa: S608
        )
        cursor.execute(
            f"UPDATE audit_chainhead SET seq = h.seq, chain_hash = h.chain_hash "  # noqa: S608
            f"FROM {tenant_a.schema_name}.audit_chainhead h"
        )
    assert "does not follow the entry before it" in _broken("--tenant", "beta")


def test_unknown_tenant_is_an_error():
    with pytest.raises(CommandError, match="No tenant schema"):
        call_command("verify_audit", "--tenant", "nope")
