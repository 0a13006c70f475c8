"""The broker transport (saas/broker.py): a task that finishes after the worker lost Redis cannot
stop the worker by acknowledging its message on the lost connection."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Exchange, Message, Queue

from saas.celery import app
from tests.redis_server import PrivateRedis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_worker_uses_the_guarded_transport():
    with app.connection_for_read() as connection:
        assert connection.transport_cls == "saas.broker:Transport"


@pytest.mark.parametrize("settle", ["ack", "requeue"])
def test_settling_a_message_of_a_connection_lost_with_redis_is_a_connection_error(
    private_redis: PrivateRedis, settle: str, caplog: pytest.LogCaptureFixture
):
    queue = Queue("broker-outage", Exchange("broker-outage"), "broker-outage")
    connection = app.connection_for_read(private_redis.url)
    with connection.Producer() as producer:
        producer.publish({"n": 1}, exchange=queue.exchange, routing_key="broker-outage", declare=[queue])
    received: list[Message] = []
    with connection.Consumer(queue, callbacks=[lambda body, message: received.append(message)]):
        connection.drain_events(timeout=5)
    (message,) = received

    # What the worker's consumer does when the broker goes away (celery's
    # on_connection_error_after_connected): collect the connection while Redis is down.
    private_redis.stop()
    connection.collect(socket_timeout=1)
    private_redis.start()
    channel = message.channel
    assert channel.connection is not None  # the transport is still the channel's,
    assert channel.connection.client is None  # detached from its connection
    # The state a worker died in on CI (kombu: 'NoneType' object has no attribute 'hostname', in
    # QoS.ack): that channel also without its pool. How the consumer got there was not reproduced
    # on this machine; kombu drops a channel's pools when it closes or fails its first ping.
    channel._disconnect_pools()

    # The task finishes now; Celery settles its message with the transport's connection errors
    # caught and logged (Request.acknowledge / reject). Anything else escapes and stops the worker.
    logger = logging.getLogger("celery.worker.request")
    with caplog.at_level(logging.CRITICAL, logger=logger.name):
        if settle == "ack":
            message.ack_log_error(logger, connection.connection_errors)
        else:
            message.reject_log_error(logger, connection.connection_errors, requeue=True)
    assert "broker connection was closed" in caplog.text
