"""Webhook bench settings (batch and end-to-end benches, set-up of the intake bench): the bench
settings as they are; kept as its own module so those benches can grow settings of their own."""

from tests.bench.settings import *  # noqa: F403
