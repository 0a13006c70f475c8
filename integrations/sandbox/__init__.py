"""The three external services as one real HTTP server, for the demo and the tests."""

from integrations.service_names import SERVICES

from .server import Sandbox
from .state import Account, fake_user

__all__ = ["SERVICES", "Account", "Sandbox", "fake_user"]
