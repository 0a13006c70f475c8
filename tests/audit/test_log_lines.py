"""The off-database copy: one `audit` log line per committed append, none for a rolled-back one,
and none in the output of an operator's manage.py command unless asked for."""

import json
import logging
import subprocess
import sys
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.services import tenant_create, tenant_delete
from tests.audit.helpers import record
from tests.conftest import PASSWORD, ROOT, subprocess_env


def audit_lines(caplog):
    return [r for r in caplog.records if r.name == "audit" and r.getMessage() == "audit"]


@pytest.mark.django_db
def test_a_rolled_back_tenant_create_leaves_no_line(caplog, django_capture_on_commit_callbacks):
    with (
        caplog.at_level(logging.INFO, logger="audit"),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError),
    ):
        tenant_create(slug="weakpass", name="Weak", owner_email="o@weak.test", owner_password="a")
    assert audit_lines(caplog) == []
    assert not Tenant.objects.filter(slug="weakpass").exists()


@pytest.mark.django_db
def test_a_committed_append_is_logged_after_commit(caplog, django_capture_on_commit_callbacks, tenant_a):
    with caplog.at_level(logging.INFO, logger="audit"), schema_context(tenant_a.schema_name):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            entry = record(action="access", object_type="test.thing", object_id=1)
            assert audit_lines(caplog) == []  # not before the commit
        (line,) = audit_lines(caplog)
    assert (line.schema, line.seq, line.chain_hash) == (tenant_a.schema_name, entry.seq, entry.chain_hash)


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _json_audit_lines(output):
    lines = []
    for text in output.splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("logger") == "audit":
            lines.append(line)
    return lines


def test_commands_keep_audit_lines_out_of_their_output(committed_db):
    slug = f"c{uuid.uuid4().hex[:10]}"
    args = ("--slug", slug, "--name", "Cli", "--owner-email", f"o@{slug}.test", "--owner-password", PASSWORD)
    try:
        result = _manage("create_tenant", *args)
        assert result.returncode == 0, result.stderr
        assert f"Created tenant {slug}" in result.stdout
        assert _json_audit_lines(result.stdout + result.stderr) == []
    finally:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            tenant_delete(tenant=tenant, purge=True)
            Tenant.objects.filter(pk=tenant.pk).delete()


def test_a_command_logs_them_when_asked(committed_db):
    code = (
        "from audit.services import audit_record, AuditEvent; "
        "audit_record(event=AuditEvent.AUDIT_READ, target=('test.cli', None))"
    )
    result = _manage("shell", "-c", code, AUDIT_LOG_LINES="true")
    assert result.returncode == 0, result.stderr
    (line,) = _json_audit_lines(result.stderr)
    assert (line["schema"], line["object_type"]) == ("public", "test.cli")
