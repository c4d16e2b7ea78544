"""Outbox events reach plugins: in-process and through rq on the real Redis."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from comptoir.kernel import jobs
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import EventDelivery
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.runtime import Kernel
from tests.conftest import REDIS_URL
from tests.kernel.services.helpers import buy, make_shop, new_cart
from tests.plugins.kernel_fixtures import EventRecorder, manifest


def _deliveries(kernel: Kernel) -> list[EventDelivery]:
    with kernel.factory() as s:
        return list(s.scalars(select(EventDelivery).order_by(EventDelivery.id)))


def _make_due(kernel: Kernel) -> None:
    with transaction(kernel.factory) as s:
        s.execute(update(EventDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_in_process_worker_delivers_order_events(kernel_any: Kernel) -> None:
    rec = EventRecorder(["order.*"])
    kernel_any.host.add(rec, manifest("recorder"))
    kernel_any.host.enable("recorder")
    make_shop(kernel_any)
    placed = buy(kernel_any, new_cart(kernel_any))
    runner = jobs.InProcessRunner(kernel_any)
    runner.drain()
    assert [t for t, _ in rec.seen] == ["order.placed"]
    assert rec.seen[0][1] == f"evt-1-recorder"
    [d] = _deliveries(kernel_any)
    assert d.status == "done" and d.attempts == 1
    runner.drain()  # nothing is delivered twice
    assert len(rec.seen) == 1 and placed.order_id == 1


def test_background_thread_delivers_without_being_asked(kernel: Kernel) -> None:
    import time

    rec = EventRecorder(["order.placed"])
    kernel.host.add(rec, manifest("recorder"))
    kernel.host.enable("recorder")
    runner = jobs.InProcessRunner(kernel, poll_s=0.05).start()
    try:
        make_shop(kernel)
        buy(kernel, new_cart(kernel))
        runner.notify()
        deadline = time.monotonic() + 10
        while not rec.seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rec.seen
    finally:
        runner.stop()


def test_failures_retry_with_backoff_then_succeed(kernel: Kernel) -> None:
    rec = EventRecorder(["order.placed"], fail_times=2)
    kernel.host.add(rec, manifest("recorder"))
    kernel.host.enable("recorder")
    make_shop(kernel)
    buy(kernel, new_cart(kernel))
    runner = jobs.InProcessRunner(kernel)
    runner.drain()
    [d] = _deliveries(kernel)
    assert d.status == "pending" and d.attempts == 1 and "temporarily unavailable" in d.last_error
    assert d.next_attempt_at is not None
    _make_due(kernel)
    runner.drain()
    _make_due(kernel)
    runner.drain()
    [d] = _deliveries(kernel)
    assert d.status == "done" and d.attempts == 3 and rec.seen


def test_a_delivery_that_keeps_failing_is_kept_dead_and_can_be_retried(kernel: Kernel) -> None:
    rec = EventRecorder(["order.placed"], fail_times=jobs.MAX_ATTEMPTS)
    rec_name = "recorder"
    kernel.host.add(rec, manifest(rec_name))
    kernel.host.enable(rec_name)
    kernel.host.records[rec_name].breaker.threshold = 10**6  # look at retries, not the breaker
    make_shop(kernel)
    buy(kernel, new_cart(kernel))
    runner = jobs.InProcessRunner(kernel)
    for _ in range(jobs.MAX_ATTEMPTS):
        _make_due(kernel)
        runner.drain()
    [d] = _deliveries(kernel)
    assert d.status == "dead" and d.attempts == jobs.MAX_ATTEMPTS
    assert jobs.retry_dead(kernel, rec_name) == 1
    runner.drain()
    assert _deliveries(kernel)[0].status == "done" and rec.seen


@pytest.mark.redis
def test_rq_worker_delivers_events_through_redis(kernel_any: Kernel) -> None:
    from redis import Redis
    from rq import SimpleWorker

    rec = EventRecorder(["order.*"])
    kernel_any.host.add(rec, manifest("recorder"))
    kernel_any.host.enable("recorder")
    make_shop(kernel_any)
    buy(kernel_any, new_cart(kernel_any))

    queue_name = f"comptoir-test-{uuid.uuid4().hex[:8]}"
    runner = jobs.RqRunner(kernel_any, REDIS_URL, queue_name=queue_name)
    try:
        assert runner.pump_once() == 1
        assert runner.queue.count == 2  # the delivery, and the first maintenance round
        assert _deliveries(kernel_any)[0].status == "queued"
        # the worker process's kernel is this test's kernel (same database, same plugins)
        jobs._worker_kernels[kernel_any.settings.effective_database_url] = kernel_any
        import os

        os.environ["COMPTOIR_DATABASE_URL"] = kernel_any.settings.effective_database_url
        try:
            worker = SimpleWorker([runner.queue], connection=Redis.from_url(REDIS_URL))
            assert worker.work(burst=True)
        finally:
            del os.environ["COMPTOIR_DATABASE_URL"]
            jobs._worker_kernels.clear()
        assert rec.seen == [("order.placed", "evt-1-recorder")]
        assert _deliveries(kernel_any)[0].status == "done"
        assert runner.pump_once() == 0
    finally:
        runner.queue.delete(delete_jobs=True)


def test_generic_jobs_run_in_process(kernel: Kernel) -> None:
    fut = kernel.jobs.enqueue("comptoir.kernel.jobs:maintenance")
    assert fut.result(timeout=10)["recovered_checkouts"] == 0


def test_unknown_job_is_a_clear_error(kernel: Kernel) -> None:
    from comptoir.kernel.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="no job function"):
        kernel.jobs.enqueue("comptoir.kernel.jobs:nope")
