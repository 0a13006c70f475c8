"""A row change made inside a real Celery task (a worker process, committed rows): no db mark,
so the tenant and the worker's writes are committed and visible across processes."""

import uuid

from django_tenants.utils import schema_context

from accounts.models import Role, User
from audit.models import AuditEntry
from saas.request_id import current_request_id
from tests.conftest import wait_for


def test_change_inside_a_celery_task_gets_the_system_actor(fresh_tenant, celery_worker, django_db_blocker):
    from tests.audit.tasks import rename_user

    with django_db_blocker.unblock():
        with schema_context(fresh_tenant.schema_name):
            owner = User.objects.get(role=Role.OWNER)
        request_id = f"req-{uuid.uuid4().hex[:8]}"
        token = current_request_id.set(request_id)
        try:
            with schema_context(fresh_tenant.schema_name):
                rename_user.delay(owner.pk, "FromTask")
        finally:
            current_request_id.reset(token)

        def renamed() -> bool:
            with schema_context(fresh_tenant.schema_name):
                return AuditEntry.objects.filter(object_pk=str(owner.pk), action=1).exists()

        wait_for(renamed, what="the task's audit entry")
        with schema_context(fresh_tenant.schema_name):
            entry = AuditEntry.objects.get(object_pk=str(owner.pk), action=1)
    assert entry.actor == "system:celery:tests.audit.tasks.rename_user"
    assert entry.changes == {"first_name": ["", "FromTask"]}
    assert entry.request_id == request_id  # the id of the request that queued the task
    assert entry.remote_addr is None
