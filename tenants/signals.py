"""Drop routing-cache entries whenever a tenant or domain row changes, whatever wrote it."""

import contextlib

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import Domain, Tenant
from .routing_cache import publish_invalidation
from .selectors import host_cache_key, slug_cache_key


def _forget(*keys: str) -> None:
    def drop() -> None:
        # Redis down: the shared entries expire on their own (TENANT_CACHE_SECONDS), and no
        # process uses its local copy while it cannot hear invalidations.
        with contextlib.suppress(Exception):
            cache.delete_many(list(keys))
        publish_invalidation(list(keys))

    drop()  # now, and again after commit so no reader re-caches the old row in between
    transaction.on_commit(drop)


@receiver([post_save, post_delete], sender=Tenant)
def tenant_changed(sender: type[Tenant], instance: Tenant, **kwargs: object) -> None:
    _forget(slug_cache_key(instance.slug))


@receiver(pre_save, sender=Domain)
def domain_renamed(sender: type[Domain], instance: Domain, **kwargs: object) -> None:
    if instance.pk:
        old = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()
        if old and old != instance.domain:
            _forget(host_cache_key(old))


@receiver([post_save, post_delete], sender=Domain)
def domain_changed(sender: type[Domain], instance: Domain, **kwargs: object) -> None:
    _forget(host_cache_key(instance.domain))
