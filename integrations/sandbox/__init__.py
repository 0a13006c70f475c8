"""The three external services as one real HTTP server, for the demo and the tests."""

from .server import Sandbox
from .state import SERVICES, Account, fake_user

__all__ = ["SERVICES", "Account", "Sandbox", "fake_user"]
