"""The last-owner rule under concurrency: two connections demoting the two owners at once."""

import threading
from typing import Any

from django.db import connection, transaction
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_update
from saas.exceptions import ApplicationError
from tests.conftest import wait_for


def _owners(tenant: Any) -> list[User]:
    with schema_context(tenant.schema_name):
        return list(User.objects.filter(role=Role.OWNER, is_active=True).order_by("id"))


def _backend_waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row and row[0] == "Lock")


def test_two_owners_demoted_at_once_leave_one(committed_db, fresh_tenant, make_user):
    """Two connections each demote one of the two owners. The second waits on the owners' row locks
    until the first commits, then sees one owner left and is refused: one owner remains."""
    first_owner = _owners(fresh_tenant)[0]
    second_owner = make_user(fresh_tenant, Role.OWNER)
    first_done, release = threading.Event(), threading.Event()
    second_pid: list[int] = []
    results: dict[str, Any] = {}

    def demote(name: str, actor: User, user: User, hold: bool) -> None:
        try:
            with schema_context(fresh_tenant.schema_name):
                if not hold:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_backend_pid()")
                        second_pid.append(cursor.fetchone()[0])
                with transaction.atomic():
                    user_update(actor=actor, user=user, role=Role.ADMIN)
                    if hold:
                        first_done.set()
                        release.wait(timeout=60)
            results[name] = "demoted"
        except ApplicationError as exc:
            results[name] = exc.code
        except BaseException as exc:  # reported below
            results[name] = exc
        finally:
            connection.close()

    one = threading.Thread(target=demote, args=("first", second_owner, first_owner, True))
    one.start()
    assert first_done.wait(timeout=60)
    two = threading.Thread(target=demote, args=("second", first_owner, second_owner, False))
    two.start()
    wait_for(lambda: bool(second_pid), what="the second connection")
    wait_for(
        lambda: _backend_waits_on_a_lock(second_pid[0]) or not two.is_alive(),
        what="the second demotion to wait on the owners' locks",
    )
    release.set()
    one.join(timeout=60)
    two.join(timeout=60)
    assert results == {"first": "demoted", "second": "conflict"}
    assert [u.pk for u in _owners(fresh_tenant)] == [second_owner.pk]
