"""The hot paths' prepared statements (saas/db/prepared.py): prepared once per server session,
right in every tenant's schema, kept across a rollback, prepared again when the session lost them.
Behind PgBouncer they go as text: tests/saas/test_pooler.py (its probe runs one)."""

import uuid

import pytest
from django.db import ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from saas.db import prepared
from saas.db.prepared import Statement
from tests.conftest import owner_cursor


def new_statement() -> Statement:
    """One this session has not prepared yet (its text differs from every other's)."""
    return Statement(
        f"SELECT email FROM accounts_user WHERE role = %s ORDER BY id LIMIT 1 -- {uuid.uuid4().hex}",  # noqa: S608
        label="test_owner",
    )


def owner_email(statement: Statement) -> str:
    with connection.cursor() as cursor:
        prepared.execute(cursor, statement, ["owner"])
        return str(cursor.fetchone()[0])


def session_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def sent(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split(" ")[0] for q in queries.captured_queries if not q["sql"].startswith("SET ")]


def test_placeholders_are_numbered_and_a_literal_percent_stays():
    statement = Statement("SELECT %s, '100%%', %s", label="t")
    assert statement.prepare_sql == f"PREPARE {statement.name} AS SELECT $1, '100%', $2"
    assert statement.execute_sql == f"EXECUTE {statement.name}(%s, %s)"
    assert Statement("SELECT 1", label="t").execute_sql.endswith(Statement("SELECT 1", label="t").name)
    assert Statement("SELECT 1", label="t").name != Statement("SELECT 2", label="t").name


@pytest.mark.django_db
def test_the_wrong_number_of_parameters_is_refused_before_sending():
    with pytest.raises(ValueError, match="takes 1 parameters"), connection.cursor() as cursor:
        prepared.execute(cursor, new_statement(), [])


@pytest.mark.django_db
def test_it_is_prepared_once_per_session_then_only_executed(tenant_a):
    statement = new_statement()
    with schema_context(tenant_a.schema_name):
        with CaptureQueriesContext(connection) as first:
            assert owner_email(statement) == "owner@alpha.test"
        with CaptureQueriesContext(connection) as second:
            assert owner_email(statement) == "owner@alpha.test"
    assert sent(first) == ["PREPARE", "EXECUTE"]
    assert sent(second) == ["EXECUTE"]
    assert statement.name in session_statements()


@pytest.mark.django_db
def test_one_prepared_statement_reads_each_tenants_own_schema(tenant_a, tenant_b):
    """PostgreSQL parses a prepared statement again under another search_path: alternating tenants on
    one session, each gets its own rows."""
    statement = new_statement()
    for _ in range(3):
        for tenant, email in ((tenant_a, "owner@alpha.test"), (tenant_b, "owner@beta.test")):
            with schema_context(tenant.schema_name):
                assert owner_email(statement) == email


@pytest.mark.django_db
def test_a_statement_prepared_in_a_rolled_back_transaction_stays_prepared(tenant_a):
    statement = new_statement()
    with schema_context(tenant_a.schema_name):
        try:
            with transaction.atomic():
                owner_email(statement)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with CaptureQueriesContext(connection) as after:
            assert owner_email(statement) == "owner@alpha.test"
    assert sent(after) == ["EXECUTE"]


@pytest.mark.django_db
def test_a_session_that_lost_its_statements_prepares_them_again(tenant_a):
    statement = new_statement()
    with schema_context(tenant_a.schema_name):
        owner_email(statement)
        with connection.cursor() as cursor:
            cursor.execute(f"DEALLOCATE {statement.name}")  # as DISCARD ALL would, for this one
        with pytest.raises(ProgrammingError, match="does not exist"), transaction.atomic():
            owner_email(statement)
        with CaptureQueriesContext(connection) as again:
            assert owner_email(statement) == "owner@alpha.test"
    assert sent(again) == ["PREPARE", "EXECUTE"]


@pytest.mark.django_db
def test_a_statement_whose_result_type_changed_fails_once_then_is_prepared_again():
    """A migration (or a tenant migrated before another) can change a column's type under a prepared
    statement: PostgreSQL then refuses it; the next execution drops it and prepares it afresh."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE prepared_probe (v varchar(10))")
        cursor.execute("INSERT INTO prepared_probe VALUES ('a')")
    statement = Statement(f"SELECT v FROM prepared_probe -- {uuid.uuid4().hex}", label="test_probe")  # noqa: S608

    def read() -> str:
        with connection.cursor() as cursor:
            prepared.execute(cursor, statement, [])
            return str(cursor.fetchone()[0])

    assert read() == "a"
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE prepared_probe ALTER v TYPE varchar(20)")
    with pytest.raises(Exception, match="must not change result type"), transaction.atomic():
        read()
    with CaptureQueriesContext(connection) as again:
        assert read() == "a"
    assert sent(again) == ["DEALLOCATE", "PREPARE", "EXECUTE"]


def test_the_token_users_statement_survives_a_longer_column(committed_db, fresh_tenant):
    """Its varchars are read as text: a length changed by a migration (here by the owner role, as
    `migrate_schemas` would) leaves its result type alone, and the next request authenticates."""
    from accounts.authentication import load_token_user
    from accounts.models import Role, User

    with schema_context(fresh_tenant.schema_name):
        owner = User.objects.get(role=Role.OWNER)
        assert load_token_user(user_id=owner.pk, jti="j", from_public=False) == owner
        with owner_cursor(fresh_tenant.schema_name) as cursor:
            cursor.execute("ALTER TABLE accounts_user ALTER first_name TYPE varchar(300)")
        assert load_token_user(user_id=owner.pk, jti="j", from_public=False) == owner


@pytest.mark.django_db
def test_a_statement_not_to_be_prepared_is_sent_as_text(tenant_a):
    """Audit appends of more than 16 entries: rare and large, not worth a plan in every session."""
    statement = Statement(
        f"SELECT email FROM accounts_user WHERE role = %s ORDER BY id LIMIT 1 -- {uuid.uuid4().hex}",  # noqa: S608
        label="test_owner",
        prepare=False,
    )
    with schema_context(tenant_a.schema_name), CaptureQueriesContext(connection) as queries:
        assert owner_email(statement) == "owner@alpha.test"
    assert sent(queries) == ["SELECT"]
    assert statement.name not in session_statements()
