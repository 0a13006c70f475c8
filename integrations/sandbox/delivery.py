"""The communication service's webhook sender: signed `message.*` events, retried like a real one.

Signing follows the Standard Webhooks scheme on its own (not the platform's `signing.py`), so the
platform's verifier is checked against an independent implementation.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from .state import Account, SandboxState, now_iso

logger = logging.getLogger(__name__)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def outcome_for(recipient: str) -> list[tuple[str, str | None]]:
    """The delivery story of a recipient: `bounce...@` bounces, `fail...@` fails, else opened."""
    local = recipient.split("@", 1)[0].lower()
    if local.startswith("bounce"):
        return [("sent", None), ("bounced", "mailbox does not exist")]
    if local.startswith("fail"):
        return [("failed", "rejected by provider")]
    return [("sent", None), ("delivered", None), ("opened", None)]


class Deliverer:
    """Schedules and sends the webhooks of each message, one step every `delay` seconds."""

    def __init__(
        self,
        state: SandboxState,
        *,
        delay: float,
        resolve_account: Callable[[str], Account | None],
        attempts: int = 6,
    ) -> None:
        self.state, self.delay, self.resolve_account, self.attempts = state, delay, resolve_account, attempts
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self.counter = itertools.count()
        self.cv = threading.Condition()
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-deliver")
        self.stopped = False
        threading.Thread(target=self._loop, name="sandbox-scheduler", daemon=True).start()

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify_all()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def schedule(self, when: float, job: Callable[[], None]) -> None:
        with self.cv:
            heapq.heappush(self.heap, (when, next(self.counter), job))
            self.cv.notify()

    def _loop(self) -> None:
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.monotonic()):
                    timeout = self.heap[0][0] - time.monotonic() if self.heap else None
                    self.cv.wait(timeout)
                if self.stopped:
                    return
                _, _, job = heapq.heappop(self.heap)
            self.pool.submit(job)

    def message_accepted(self, message: dict[str, Any]) -> None:
        start = time.monotonic()
        for step, (status, reason) in enumerate(outcome_for(message["to"]), start=1):
            self.schedule(
                start + step * self.delay,
                functools.partial(self._send, message, status, reason, attempt=1),
            )

    def _send(self, message: dict[str, Any], status: str, reason: str | None, *, attempt: int) -> None:
        with self.state.lock:
            message["status"] = status
        account = self.resolve_account(message["api_key"])
        if account is None:
            self._record(message, status, "no account for this API key", attempt)
            return
        data: dict[str, Any] = {
            "id": message["id"],
            "message_id": message.get("message_id") or message["id"],
            "recipient": message["to"],
        }
        if reason:
            data["reason"] = reason
        event_id = f"evt_{uuid.uuid4().hex}"
        body = json.dumps(
            {"id": event_id, "type": f"message.{status}", "occurred_at": now_iso(), "data": data}
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(account.secret, event_id, timestamp, body),
            **account.headers,
        }
        try:
            response = requests.post(account.webhook_url, data=body, headers=headers, timeout=10)
            result: int | str = response.status_code
            retry = response.status_code >= 500 or response.status_code == 429
        except requests.RequestException as exc:
            result, retry = type(exc).__name__, True
        self._record(message, status, result, attempt)
        if retry and attempt < self.attempts:
            self.schedule(
                time.monotonic() + min(30.0, 0.5 * 2**attempt),
                lambda: self._send(message, status, reason, attempt=attempt + 1),
            )

    def _record(self, message: dict[str, Any], status: str, result: int | str, attempt: int) -> None:
        with self.state.lock:
            self.state.deliveries.append(
                {"message": message["id"], "type": f"message.{status}", "result": result, "attempt": attempt}
            )
