"""A task for the audit tests only (loaded by the test worker through CELERY_IMPORTS)."""

from celery import shared_task


@shared_task
def rename_user(user_id: int, first_name: str) -> None:
    from accounts.models import User

    user = User.objects.get(pk=user_id)
    user.first_name = first_name
    user.save()
