"""PgBouncer in transaction pooling mode (issue 15): two tenants whose requests and tasks share ONE
server connection (default_pool_size=1) never see each other's schema with DATABASE_POOLER set, and
do without it (the control: django-tenants' session-level search_path leaks across clients)."""

import json
import subprocess
import sys

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from integrations.models import WebhookEvent
from integrations.services import webhook_parse, webhook_receive
from tests.conftest import (
    ROOT,
    database_url_for_subprocess,
    owner_database_url,
    start_worker,
    subprocess_env,
    wait_for,
)
from tests.integrations.conftest import event, stop_worker
from tests.pgbouncer import private_pgbouncer


@pytest.fixture
def bouncer(django_db_setup):
    app_url = database_url_for_subprocess()
    with private_pgbouncer(app_url, users_from=[app_url, owner_database_url()], pool_size=1) as running:
        yield running


def probe(bouncer, schemas, **env):
    out = subprocess.run(
        [sys.executable, "-m", "tests.saas.pooler_probe", *schemas],
        cwd=ROOT,
        env=subprocess_env(DATABASE_URL=bouncer.url(database_url_for_subprocess()), **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_tenants_sharing_one_server_connection_never_see_each_others_schema(bouncer, tenant_a, tenant_b):
    result = probe(bouncer, [tenant_a.schema_name, tenant_b.schema_name], DATABASE_POOLER="pgbouncer")
    assert result["checked"] > 1000
    assert (result["leaks"], result["errors"]) == (0, [])


def test_without_the_pooler_setting_the_schema_leaks_between_tenants(bouncer, tenant_a, tenant_b):
    """The control: what DATABASE_POOLER prevents (django-tenants sets search_path once per session)."""
    result = probe(bouncer, [tenant_a.schema_name, tenant_b.schema_name], DATABASE_POOLER="")
    assert result["leaks"] > 0


def test_tasks_of_two_tenants_through_one_server_connection_write_only_their_own_schema(
    bouncer, django_db_blocker, fresh_tenant, tenant_a
):
    """A real Celery worker (two processes) behind the same one-connection PgBouncer processes events
    of two tenants interleaved: each user lands in its own tenant's schema."""
    docs = {schema: [event(ext=f"pool-{schema}-{i}") for i in range(40)] for schema in ("x", "y")}
    tenants = {"x": fresh_tenant, "y": tenant_a}
    worker, _ = start_worker(
        DATABASE_URL=bouncer.url(database_url_for_subprocess()),
        DATABASE_POOLER="pgbouncer",
        include="tests.integrations.event_types",
    )
    try:
        with django_db_blocker.unblock():
            for i in range(0, 40, 5):  # alternate the tenants, a few events at a time
                for key, tenant in tenants.items():
                    with schema_context(tenant.schema_name):
                        body = json.dumps({"events": docs[key][i : i + 5]}).encode()
                        webhook_receive(service="user-service", body=webhook_parse(body=body))

            def done() -> bool:
                for tenant in tenants.values():
                    with schema_context(tenant.schema_name):
                        if (
                            WebhookEvent.objects.filter(event_id__in=[d["id"] for d in docs["x"] + docs["y"]])
                            .exclude(status="processed")
                            .exists()
                        ):
                            return False
                return True

            wait_for(done, timeout=120, what="events of both tenants processed")
            for key, tenant in tenants.items():
                other = "y" if key == "x" else "x"
                with schema_context(tenant.schema_name):
                    assert User.objects.filter(external_id__startswith=f"pool-{key}-").count() == 40
                    assert not User.objects.filter(external_id__startswith=f"pool-{other}-").exists()
    finally:
        stop_worker(worker)
