"""The worker: tasks keep their process's database connection instead of opening one per
task (Celery's Django fix-up closes it around every task), and still each run in their own schema."""

import uuid

import redis
from django.conf import settings
from django_tenants.utils import schema_context

from tests.conftest import wait_for


def test_tasks_reuse_the_workers_connection_and_run_in_their_schema(
    fresh_tenant, celery_worker, django_db_blocker
):
    from tests.saas.tasks import note_connection

    key = f"test:connections:{uuid.uuid4().hex}"
    r = redis.Redis.from_url(settings.REDIS_URL)
    schemas = [fresh_tenant.schema_name, "public"] * 6
    with django_db_blocker.unblock():
        for done, schema in enumerate(schemas):
            with schema_context(schema):
                note_connection.delay(key)
            # one at a time, so the order of the notes is the order of the tasks
            wait_for(lambda done=done: r.llen(key) > done, what="the task")
    notes = [line.decode().split() for line in r.lrange(key, 0, -1)]
    r.delete(key)
    assert [schema for _, schema in notes] == schemas  # the tenant cache never leaks a schema
    # a prefork worker of concurrency 2: at most one connection per child for all twelve tasks
    assert len({pid for pid, _ in notes}) <= 2
