"""What each kind of mail says: a builder per kind, registered by the app that sends it.

    @email_kind("invitation")
    def invitation_email(email: Email) -> EmailContent | None: ...

A builder runs in the worker when the mail is sent, in the tenant's schema: it reads what it needs
(the user, the invitation) and makes any link's token then, so no secret waits in the outbox. It
returns None when there is nothing to send (the mail is then `skipped`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import Email


@dataclass(frozen=True)
class EmailContent:
    """`template` names three templates: `<template>_subject.txt`, `<template>.txt`, `<template>.html`."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[Email], EmailContent | None]
_BUILDERS: dict[str, Builder] = {}


def email_kind(kind: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        _BUILDERS[kind] = builder
        return builder

    return register


def builder_for(kind: str) -> Builder:
    """The builder of `kind`; KeyError for a kind nobody registered."""
    return _BUILDERS[kind]
