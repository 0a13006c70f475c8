"""A Celery worker killed with SIGKILL while processing, twice: every event applied exactly once.

The events are `test.count`: each run of the handler appends a row to `test_side_effects` in the
tenant's schema (deliberately not idempotent), so counting rows counts applications, not statuses.
"""

import time

import pytest

from tests.conftest import wait_for

from .conftest import Counter, Sender, Stack, make_event, record

pytestmark = pytest.mark.faults

EVENTS, BATCH_SIZE = 3000, 1000
HANDLER_SECONDS = 0.02  # per event: a chunk of 100 takes ~2 s, so a kill lands inside one


def test_worker_sigkilled_twice_mid_processing_applies_every_event_exactly_once(stack: Stack) -> None:
    tenant = stack.provision("worker-kill")
    url = stack.web(workers=1)
    stack.beat()
    workers = [stack.worker(concurrency=2), stack.worker(concurrency=2)]
    counter = Counter(stack.database_url, tenant.schema)
    sender = Sender(url, tenant)

    events = [make_event("test.count", sleep=HANDLER_SECONDS, slow_attempts=99) for _ in range(EVENTS)]
    started = time.monotonic()
    for start in range(0, EVENTS, BATCH_SIZE):
        assert sender.post({"events": events[start : start + BATCH_SIZE]}) == 202

    kills = []
    for victim, share in ((0, 1 / 3), (1, 2 / 3)):
        wait_for(
            lambda share=share: (
                counter.statuses().get("processed", 0) >= EVENTS * share
                and counter.statuses().get("processing", 0) > 0
            ),
            timeout=240,
            what=f"{share:.0%} processed while more is in progress",
        )
        in_flight = counter.statuses().get("processing", 0)
        pool = workers[victim].children()
        workers[victim].kill()  # SIGKILL to the worker and its pool processes
        wait_for(
            lambda pool=pool: not any(_alive(pid) for pid in pool), timeout=30, what="pool processes gone"
        )
        kills.append({"processed_before": counter.statuses().get("processed", 0), "in_flight": in_flight})
        workers[victim] = stack.worker(concurrency=2)  # a replacement, as a supervisor would start

    wait_for(lambda: counter.statuses() == {"processed": EVENTS}, timeout=300, what="every event processed")
    drained = time.monotonic() - started

    effects = counter.side_effects()
    attempts = dict(counter.rows("SELECT event_id, attempts FROM integrations_webhookevent"))
    rerun = sum(1 for n in attempts.values() if n >= 2)
    assert set(effects) == {event["id"] for event in events}  # every event applied ...
    assert all(count == 1 for count in effects.values())  # ... exactly once
    assert sum(effects.values()) == EVENTS
    assert rerun > 0  # some events were mid-chunk when a worker died, and ran again
    assert max(attempts.values()) < 8  # nowhere near `dead`

    record(
        "worker_kill",
        {
            "events": EVENTS,
            "kills": kills,
            "events_rerun_after_a_kill": rerun,
            "max_attempts": max(attempts.values()),
            "side_effect_rows": sum(effects.values()),
            "events_with_more_than_one_side_effect": sum(1 for c in effects.values() if c > 1),
            "seconds_to_drain": round(drained, 1),
        },
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False
