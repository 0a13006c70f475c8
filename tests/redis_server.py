"""A redis-server of the test's own on a free port of 127.0.0.1: it can be stopped and started
again (empty, as after a lost node) without touching the machine's Redis."""

import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port, port_accepts, wait_for


class PrivateRedis:
    """A redis-server of our own (no persistence, so a restart starts it empty, like a lost node)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if not server:
            pytest.fail("redis-server not found (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=30, what="private redis")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # abrupt, like a crashed node; nothing is saved either way
            self.proc.wait(timeout=30)
        wait_for(lambda: not port_accepts(self.port), timeout=30, what="redis stopped")
