"""`verify_audit` catches altered, removed and inserted entries and exits non-zero.

Tampering is simulated as the database owner would do it (the app role the application connects as
may not): on a connection of its own, with the append-only trigger disabled for that one
transaction. So the trail must be committed: these tests work in throwaway tenants (`fresh_tenant`),
purged afterwards."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from audit.models import AuditEntry
from tenants.models import Tenant
from tests.audit.helpers import trail
from tests.conftest import owner_cursor


@pytest.fixture
def chain(committed_db, fresh_tenant, make_user) -> list[AuditEntry]:
    for _ in range(4):
        make_user(fresh_tenant)
    return trail(fresh_tenant)


@pytest.fixture
def alpha_chain(db, tenant_a, make_user) -> list[AuditEntry]:
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


def _owner_sql(tenant: Tenant, *statements: tuple[str, list[object]] | str) -> None:
    """The statements in one committed transaction of the owner role, the append-only trigger off."""
    trigger = "audit_entry_append_only"
    with owner_cursor(tenant.schema_name) as cursor:
        cursor.execute(f"ALTER TABLE audit_auditentry DISABLE TRIGGER {trigger}")
        for statement in statements:
            sql, params = (statement, []) if isinstance(statement, str) else statement
            cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE audit_auditentry ENABLE TRIGGER {trigger}")


@pytest.mark.django_db
def test_an_intact_chain_passes(tenant_a, tenant_b, alpha_chain):
    output = _verify()
    assert "public: OK" in output
    assert f"{tenant_a.schema_name}: OK, {len(alpha_chain)} entries" in output
    assert f"{tenant_b.schema_name}: OK" in output
    assert f"{tenant_a.schema_name}: OK" in _verify("--tenant", "alpha")


def test_an_altered_entry_is_named(fresh_tenant, chain):
    victim = chain[2]
    _owner_sql(
        fresh_tenant,
        ('UPDATE audit_auditentry SET changes = \'{"role": [null, "owner"]}\' WHERE id = %s', [victim.pk]),
    )
    message = _broken("--tenant", fresh_tenant.slug)
    assert f"entry {victim.pk} (seq {victim.seq}) was altered" in message


def test_an_altered_timestamp_or_actor_is_caught(fresh_tenant, chain):
    victim = chain[1]
    _owner_sql(
        fresh_tenant, ("UPDATE audit_auditentry SET actor = 'someone-else' WHERE id = %s", [victim.pk])
    )
    assert f"entry {victim.pk} (seq {victim.seq}) was altered" in _broken("--tenant", fresh_tenant.slug)


def test_a_deleted_entry_is_named(fresh_tenant, chain):
    victim, successor = chain[2], chain[3]
    _owner_sql(fresh_tenant, ("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk]))
    message = _broken("--tenant", fresh_tenant.slug)
    assert f"entries removed before entry {successor.pk}" in message
    assert f"seq {victim.seq} missing" in message


def test_entries_deleted_from_the_end_are_caught_by_the_head(fresh_tenant, chain):
    _owner_sql(fresh_tenant, ("DELETE FROM audit_auditentry WHERE id = %s", [chain[-1].pk]))
    assert f"entries after seq {chain[-2].seq} were removed" in _broken("--tenant", fresh_tenant.slug)


def test_renumbering_to_hide_a_deletion_is_caught(fresh_tenant, chain):
    victim = chain[2]
    _owner_sql(
        fresh_tenant,
        ("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk]),
        ("UPDATE audit_auditentry SET seq = seq - 1 WHERE seq > %s", [victim.seq]),
        "UPDATE audit_chainhead SET seq = seq - 1",
    )
    assert "does not follow the entry before it" in _broken("--tenant", fresh_tenant.slug)


@pytest.mark.django_db
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


def test_an_entry_inserted_in_the_middle_is_named(fresh_tenant, chain):
    middle = chain[1]
    _owner_sql(fresh_tenant, ("UPDATE audit_auditentry SET seq = seq + 1000 WHERE seq > %s", [middle.seq]))
    with schema_context(fresh_tenant.schema_name):
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
    assert f"entry {forged.pk} (seq {forged.seq}) was altered" in _broken("--tenant", fresh_tenant.slug)


def test_a_chain_copied_from_another_tenant_does_not_verify(fresh_tenant, chain, other_tenant):
    """Entries are bound to their schema: a valid chain transplanted elsewhere fails at once."""
    assert trail(other_tenant)
    source = fresh_tenant.schema_name
    _owner_sql(
        other_tenant,
        "DELETE FROM audit_auditentry",
        f"INSERT INTO audit_auditentry SELECT * FROM {source}.audit_auditentry",  # noqa: S608
        f"UPDATE audit_chainhead SET seq = h.seq, chain_hash = h.chain_hash FROM {source}.audit_chainhead h",  # noqa: S608
    )
    assert "does not follow the entry before it" in _broken("--tenant", other_tenant.slug)


@pytest.mark.django_db
def test_unknown_tenant_is_an_error():
    with pytest.raises(CommandError, match="No tenant schema"):
        call_command("verify_audit", "--tenant", "nope")


def test_entries_written_before_typed_events_still_verify(fresh_tenant, committed_db, make_user):
    """Entries as the untyped `audit_record(action=<str>)` wrote them (bare object types, `user:`
    actor labels, events classified by substring), then typed ones after them: one chain that
    verifies. The hash covers the stored fields, and how a row hashes did not change."""
    from audit.events import AuditEvent
    from audit.services import audit_record
    from tests.audit.helpers import record

    user = make_user(fresh_tenant)
    with schema_context(fresh_tenant.schema_name):
        old = [
            record(
                action="update",
                object_type="user",
                object_id=user.pk,
                changes={"role": ["member", "admin"]},
                actor="user:admin@example.test",
            ),
            record(
                action="update",
                event="replay",
                object_type="webhook_event",
                object_id=7,
                changes={"service": "user-service", "event": "replay"},
                actor="user:admin@example.test",
            ),
            record(
                action="access",
                event="sso_jit",
                object_type="user",
                object_id=user.pk,
                changes={"event": "sso_jit", "protocol": "oidc"},
                actor="sso:oidc:https://idp.test",
            ),
            record(
                action="update",
                object_type="sso_provider",
                object_id="oidc",
                changes={"enabled": [False, True]},
            ),
        ]
        audit_record(event=AuditEvent.LOGIN, target=user, actor=user, details={"channel": "api"})
    assert [e.object_type for e in old] == ["user", "webhook_event", "user", "sso_provider"]
    output = _verify("--tenant", fresh_tenant.slug)
    assert f"{fresh_tenant.schema_name}: OK, {len(trail(fresh_tenant))} entries" in output
