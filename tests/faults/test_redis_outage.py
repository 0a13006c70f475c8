"""Redis stopped in the middle of sending 5,000 webhook events, then started again (empty).

Every event whose request got a 2xx ends `processed` and was applied exactly once (side effects
counted); no request without a 2xx left part of its batch stored.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import wait_for

from .conftest import Counter, Sender, Stack, make_event, record

pytestmark = pytest.mark.faults

BATCHES, BATCH_SIZE = 500, 10  # 5,000 events: half `user.updated`, half `test.count`


def test_redis_outage_while_sending_5000_events_loses_nothing_and_doubles_nothing(stack: Stack) -> None:
    tenant = stack.provision("redis-outage")
    url = stack.web(workers=2)
    stack.worker(concurrency=2)
    stack.beat()
    counter = Counter(stack.database_url, tenant.schema)
    sender = Sender(url, tenant)

    batches = [
        [make_event("user.updated") if i % 2 else make_event("test.count") for i in range(BATCH_SIZE)]
        for _ in range(BATCHES)
    ]
    answers: dict[int, int] = {}
    redis_down = threading.Event()
    sent_while_down: list[int] = []

    def send(index: int) -> None:
        down = redis_down.is_set()
        answers[index] = sender.post({"events": batches[index]})
        if down and redis_down.is_set():
            sent_while_down.append(index)
        time.sleep(0.1)  # pacing (not an assertion): the outage falls in the middle, not at the end

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(send, i) for i in range(BATCHES)]
        wait_for(lambda: len(answers) >= BATCHES * 0.3, timeout=180, what="first 30% sent")
        stack.redis.stop()
        redis_down.set()
        stopped_at = time.monotonic()
        wait_for(
            lambda: len(sent_while_down) >= BATCHES * 0.3 and time.monotonic() - stopped_at > 5,
            timeout=180,
            what="30% sent while down, for at least 5 s",
        )
        redis_down.clear()
        stack.redis.start()
        outage = time.monotonic() - stopped_at
        for future in futures:
            future.result(timeout=300)
    sent_in = time.monotonic() - started

    accepted = [i for i, status in answers.items() if 200 <= status < 300]
    refused = [i for i, status in answers.items() if not 200 <= status < 300]
    accepted_ids = {event["id"] for i in accepted for event in batches[i]}
    wait_for(
        counter.safe(lambda: counter.statuses().get("processed", 0) >= len(accepted_ids)),
        timeout=240,
        what="every accepted event processed",
    )
    drained_in = time.monotonic() - started - sent_in

    stored = dict(counter.rows("SELECT event_id, status FROM integrations_webhookevent"))
    effects = counter.side_effects()
    users = {
        row[0] for row in counter.rows("SELECT external_id FROM accounts_user WHERE external_id IS NOT NULL")
    }

    # Every 2xx event: stored once (the unique key), processed, applied exactly once.
    assert all(stored.get(event_id) == "processed" for event_id in accepted_ids)
    for i in accepted:
        for event in batches[i]:
            if event["type"] == "test.count":
                assert effects.get(event["id"]) == 1, event["id"]
            else:
                assert event["data"]["id"] in users
    # Without a 2xx: the whole batch or nothing (a batch is one statement); a stored one is processed.
    for i in refused:
        kept = [stored.get(event["id"]) for event in batches[i]]
        assert kept in ([None] * BATCH_SIZE, ["processed"] * BATCH_SIZE), (i, answers[i], kept)
    # Nothing else happened: no side effect twice, nothing stuck, retried to death or invented.
    assert all(count == 1 for count in effects.values())
    assert set(counter.statuses()) == {"processed"}
    assert len(stored) == len(accepted_ids) + sum(
        1 for i in refused for event in batches[i] if stored.get(event["id"])
    )

    record(
        "redis_outage",
        {
            "events_sent": BATCHES * BATCH_SIZE,
            "requests": BATCHES,
            "answers": {str(s): sum(1 for v in answers.values() if v == s) for s in set(answers.values())},
            "requests_sent_while_redis_down": len(sent_while_down),
            "events_accepted_while_redis_down": sum(
                BATCH_SIZE for i in sent_while_down if 200 <= answers[i] < 300
            ),
            "events_processed": sum(1 for s in stored.values() if s == "processed"),
            "side_effect_rows": sum(effects.values()),
            "users_upserted": len(users),
            "redis_down_seconds": round(outage, 1),
            "send_seconds": round(sent_in, 1),
            "drain_after_send_seconds": round(drained_in, 1),
        },
    )
