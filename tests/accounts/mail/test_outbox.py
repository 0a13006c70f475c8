"""Outgoing mail: an outbox row per mail, sent from Celery after the commit, retried with
back-off by the sweep while the SMTP server is down, given up on a permanent refusal. Every test reads
what a real SMTP server on 127.0.0.1 received."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.mail import services, tasks
from accounts.mail.models import Email, EmailStatus
from accounts.mail.services import email_queue, emails_due, emails_purge, emails_send, emails_sweep
from tests.audit.helpers import trail

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_a(tenant_a, make_user):
    user = make_user(tenant_a, first_name="Ada")
    with schema_context(tenant_a.schema_name):
        yield user


def later(seconds: float = 7200):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_queued_mail_is_sent_only_after_the_commit(in_a, send_mail_to):
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        email = email_queue(kind="password_reset", to=in_a.email)
    assert len(callbacks) == 1  # the publish waits for the commit
    assert send_mail_to.messages == []
    emails_send(email_ids=[email.pk])  # what the task does once published
    assert len(send_mail_to.wait_for(1)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.next_attempt_at) == (EmailStatus.SENT, 1, None)
    assert email.sent_at is not None


def test_the_mail_names_the_tenant_in_text_and_html(in_a, tenant_a, send_mail_to, settings):
    settings.DEFAULT_FROM_EMAIL = "Alpha <no-reply@alpha.test>"
    emails_send(email_ids=[email_queue(kind="password_reset", to=in_a.email).pk])
    message = send_mail_to.wait_for(1)[0]
    assert message["To"] == in_a.email
    assert message["From"] == "Alpha <no-reply@alpha.test>"
    assert tenant_a.name in message["Subject"]
    text, html = send_mail_to.text(message), send_mail_to.html(message)
    assert "Hello Ada" in text
    assert tenant_a.name in text
    assert tenant_a.name in html
    assert "<a href=" in html


def test_smtp_down_the_attempt_is_counted_and_the_sweep_sends_it_later(in_a, send_mail_to):
    send_mail_to.stop()
    email = email_queue(kind="password_reset", to=in_a.email)
    emails_send(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED
    assert email.attempts == 1
    assert email.next_attempt_at > timezone.now()  # backing off
    assert "Connection" in email.last_error or "refused" in email.last_error.lower()
    assert emails_due() == []

    send_mail_to.start()
    assert emails_due(now=later()) == [email.pk]
    emails_send(email_ids=emails_due(now=later()))  # the sweep's task, once due
    assert len(send_mail_to.wait_for(1)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (EmailStatus.SENT, 2, "")


def test_a_temporary_refusal_is_retried(in_a, send_mail_to):
    send_mail_to.reply = "451 4.3.0 try again later"
    email = email_queue(kind="password_reset", to=in_a.email)
    emails_send(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED
    assert email.attempts == 1


def test_a_permanent_refusal_fails_at_once_and_is_audited(in_a, tenant_a, send_mail_to):
    send_mail_to.reply = "550 5.1.1 no such mailbox"
    email = email_queue(kind="password_reset", to=in_a.email)
    emails_send(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED
    assert email.next_attempt_at is None
    assert email.last_error.startswith("refused:")
    failed = [e for e in trail(tenant_a) if e.event == "email_failed"]
    assert failed
    assert failed[-1].object_pk == str(email.pk)


def test_a_mail_that_keeps_failing_is_given_up(in_a, send_mail_to, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    send_mail_to.stop()
    email = email_queue(kind="password_reset", to=in_a.email)
    emails_send(email_ids=[email.pk])
    emails_send(email_ids=emails_due(now=later()))  # attempt 1 backs off under 30 s: due within the minute
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 2)
    assert "not sent after 2 attempts" in email.last_error


def test_a_sent_mail_is_audited_and_never_sent_twice(in_a, tenant_a, send_mail_to):
    email = email_queue(kind="password_reset", to=in_a.email)
    emails_send(email_ids=[email.pk])
    emails_send(email_ids=[email.pk])  # a duplicate task: the row is no longer queued
    assert len(send_mail_to.wait_for(1)) == 1
    sent = [e for e in trail(tenant_a) if e.event == "email_sent"]
    assert sent[-1].object_pk == str(email.pk)
    assert sent[-1].changes["to"] == in_a.email


def test_nothing_to_send_is_skipped(in_a, send_mail_to):
    email = email_queue(kind="password_reset", to="nobody@example.test")
    emails_send(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == EmailStatus.SKIPPED
    assert send_mail_to.messages == []


def test_the_sweep_publishes_what_is_due(in_a, monkeypatch):
    published = []
    monkeypatch.setattr(
        tasks.email_send_task,
        "apply_async",
        lambda args, **kw: published.append((args, connection.schema_name)),
    )
    email = Email.objects.create(kind="password_reset", to=in_a.email, next_attempt_at=timezone.now())
    assert emails_sweep() == 1
    assert published == [([[str(email.pk)]], connection.schema_name)]


def test_a_dead_broker_leaves_the_mail_to_the_sweep(in_a, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    monkeypatch.setattr(tasks.email_send_task, "apply_async", refuse)
    with TestCase.captureOnCommitCallbacks(execute=True):
        email = email_queue(kind="password_reset", to=in_a.email)  # the request still succeeds
    assert emails_due() == [email.pk]


def test_finished_mails_are_purged_after_the_retention(in_a, settings):
    old = Email.objects.create(kind="password_reset", to=in_a.email, status=EmailStatus.SENT)
    queued = Email.objects.create(kind="password_reset", to=in_a.email, next_attempt_at=timezone.now())
    Email.objects.filter(pk__in=[old.pk, queued.pk]).update(created_at=timezone.now() - timedelta(days=40))
    assert emails_purge() == 1
    assert list(Email.objects.values_list("pk", flat=True)) == [queued.pk]


def test_mails_of_another_tenant_are_not_swept_here(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        email = Email.objects.create(kind="password_reset", to=user.email, next_attempt_at=timezone.now())
        assert emails_due() == [email.pk]
    with schema_context(tenant_b.schema_name):
        assert emails_due() == []
