"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the mail tests.

    sink = SmtpSink(); sink.start()
    ... send mail to sink.url (EMAIL_URL) or with sink.settings() ...
    message = sink.wait_for(1)[0]; sink.text(message), sink.links(message)

`reply` makes it answer every RCPT with that SMTP reply instead (e.g. "550 5.1.1 no such user"
or "451 4.3.0 try later"); `stop()` and `start()` take it down and bring it back on the same port.
"""

import email
import re
import threading
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import free_port

_LINK_RE = re.compile(r"https?://[^\s<>\"']+")


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.sink.reply:
            return self.sink.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.sink.arrived:
            self.sink.messages.append(message)  # type: ignore[arg-type]
            self.sink.arrived.notify_all()
        return "250 Message accepted"


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()  # notified on every mail received
        self.reply: str | None = None
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Django settings that send through this server (what EMAIL_URL=`self.url` gives)."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 5,
        }

    def start(self) -> "SmtpSink":
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """The mails received so far, once there are at least `count` of them."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise TimeoutError(f"{count} mail(s) expected, {len(self.messages)} arrived")
            return list(self.messages)

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        return _LINK_RE.findall(cls.text(message))
