"""Background jobs: the outbox relay, event deliveries, and generic jobs.

Two runners with one set of job functions:

- ``InProcessRunner`` (embedded default): a thread relays the outbox and delivers
  events; generic jobs run on a small thread pool.
- ``RqRunner`` (``COMPTOIR_REDIS_URL`` set): a pump relays the outbox and enqueues one
  rq job per due delivery; ``comptoir worker`` processes run them.

Retries are driven by the ``event_delivery`` table (``next_attempt_at``), not by rq, so
both runners back off the same way, a lost job is re-claimed after its lease expires,
and a delivery that keeps failing is kept as ``dead`` with its last error.
"""
from __future__ import annotations

import fnmatch
import importlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import bindparam, insert, or_, select, update

from comptoir.kernel.db import read_conn, transaction, write_conn
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.events import EventDelivery, OutboxEvent
from comptoir.kernel.errors import ComptoirError, ValidationFailed
from comptoir.kernel.types import DomainEvent

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.jobs")
MAX_ATTEMPTS = 8
LEASE_S = 120
BACKOFF_S = (2, 10, 30, 120, 600, 1800, 3600)
QUEUE_NAME = "comptoir"
TRACKING_EVERY_S = 1800.0
DAILY_S = 86400.0


def backoff(attempts: int) -> int:
    """Seconds to wait before attempt ``attempts + 1``."""
    return BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1] if attempts > 0 else 0


# ---- job functions (shared by both runners) ------------------------------------
def subscriptions(kernel: "Kernel") -> dict[str, list[str]]:
    """{plugin: [topic patterns]} from every enabled plugin's ``event_subscriptions``."""
    return {plugin: list(patterns) for plugin, patterns in kernel.host.call_each("event_subscriptions")}


_UNRELAYED = (select(OutboxEvent.id).where(OutboxEvent.relayed_at.is_(None))  # type: ignore[union-attr]
              .order_by(OutboxEvent.id).limit(1))  # type: ignore[arg-type]
_DUE = (select(EventDelivery.id).where(
    or_(EventDelivery.status == "pending", EventDelivery.status == "queued"),
    EventDelivery.next_attempt_at <= bindparam("now")).order_by(EventDelivery.id).limit(bindparam("limit")))  # type: ignore[arg-type]


def relay_outbox(kernel: "Kernel", batch: int = 500) -> int:
    """Turn new outbox events into one delivery per subscribed plugin. Returns events relayed."""
    # Most rounds find nothing: an autocommit probe answers that without a transaction.
    with read_conn(kernel.engine) as c:
        if c.execute(_UNRELAYED).first() is None:
            return 0
    subs = subscriptions(kernel)
    now = utcnow()
    with write_conn(kernel.engine) as c:
        q = select(OutboxEvent.id, OutboxEvent.topic).where(OutboxEvent.relayed_at.is_(None))  # type: ignore[union-attr]
        q = q.order_by(OutboxEvent.id).limit(batch)  # type: ignore[arg-type]
        if not kernel.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)  # several relays may run; each event goes once
        events = c.execute(q).all()
        if not events:
            return 0
        rows = [{"event_id": ev.id, "plugin": plugin, "status": "pending", "attempts": 0, "next_attempt_at": now,
                 "last_error": ""}
                for ev in events for plugin, patterns in subs.items()
                if any(fnmatch.fnmatchcase(ev.topic, p) for p in patterns)]
        if rows:
            c.execute(insert(EventDelivery), rows)
        c.execute(update(OutboxEvent).where(OutboxEvent.id.in_([ev.id for ev in events]))  # type: ignore[union-attr]
                  .values(relayed_at=now))
        return len(events)


def claim_due(kernel: "Kernel", limit: int = 200) -> list[int]:
    """Deliveries due now (or whose lease expired), marked ``queued`` by this caller only."""
    now = utcnow()
    with read_conn(kernel.engine) as c:  # the usual answer is "none": no transaction for it
        ids = list(c.scalars(_DUE, {"now": now, "limit": limit}))
    if not ids:
        return []
    lease_until = now + timedelta(seconds=LEASE_S)
    with write_conn(kernel.engine) as c:
        # one conditional UPDATE claims them all; a delivery another runner claimed in
        # between no longer matches the conditions and is not returned
        claimed = c.scalars(update(EventDelivery).where(
            EventDelivery.id.in_(ids), EventDelivery.next_attempt_at <= now,  # type: ignore[union-attr]
            EventDelivery.status.in_(("pending", "queued")))  # type: ignore[attr-defined]
            .values(status="queued", next_attempt_at=lease_until).returning(EventDelivery.id)).all()
    return sorted(claimed)


def deliver(kernel: "Kernel", delivery_id: int) -> str:
    """Call the plugin's ``handle_event`` once; record success, schedule a retry, or
    keep it as dead after ``MAX_ATTEMPTS``. Returns the new status."""
    with kernel.factory() as s:
        d = s.get(EventDelivery, delivery_id)
        if d is None or d.status in ("done", "dead"):
            return "missing" if d is None else d.status
        ev = s.get(OutboxEvent, d.event_id)
        assert ev is not None
        plugin, attempts, key = d.plugin, d.attempts, d.idempotency_key
        event = DomainEvent(id=ev.id or 0, topic=ev.topic, payload=dict(ev.payload), occurred_at=ev.created_at.isoformat())
    try:
        kernel.host.call_one(plugin, "handle_event", event=event, idempotency_key=key)
    except Exception as exc:
        attempts += 1
        error = exc.message if isinstance(exc, ComptoirError) else f"{type(exc).__name__}: {exc}"
        status = "dead" if attempts >= MAX_ATTEMPTS else "pending"
        with transaction(kernel.factory) as s:
            s.execute(update(EventDelivery).where(EventDelivery.id == delivery_id).values(
                status=status, attempts=attempts, last_error=kernel.host.journal.redact(error)[:1000],
                next_attempt_at=utcnow() + timedelta(seconds=backoff(attempts))))
        if status == "dead":
            log.error("event %s to %s is dead after %d attempts: %s", event.topic, plugin, attempts, error)
        return status
    with transaction(kernel.factory) as s:
        s.execute(update(EventDelivery).where(EventDelivery.id == delivery_id).values(
            status="done", attempts=attempts + 1, delivered_at=utcnow(), last_error=""))
    return "done"


def retry_dead(kernel: "Kernel", plugin: str | None = None) -> int:
    """Put dead deliveries back in the queue (after the merchant fixed the plugin)."""
    with transaction(kernel.factory) as s:
        q = update(EventDelivery).where(EventDelivery.status == "dead")
        if plugin:
            q = q.where(EventDelivery.plugin == plugin)
        return s.execute(q.values(status="pending", attempts=0, next_attempt_at=utcnow())).rowcount  # type: ignore[attr-defined]


def maintenance(kernel: "Kernel") -> dict[str, int]:
    """Periodic housekeeping: recover interrupted checkouts; refresh tracking; collect
    social mentions; forward plugin usage to the marketplace for billing when the shop
    is connected to one."""
    from comptoir.kernel.services.checkout import recover_stale_attempts

    done = {"recovered_checkouts": recover_stale_attempts(kernel)}
    last_daily = kernel.services.get("_daily_at", 0.0)
    if time.monotonic() - last_daily >= DAILY_S and kernel.services.get("_daily_at") is not None:
        kernel.services["_daily_at"] = time.monotonic()
        kernel.jobs.enqueue("comptoir.kernel.jobs:daily")
    kernel.services.setdefault("_daily_at", time.monotonic())  # first daily round a day after start
    last = kernel.services.get("_tracking_refreshed_at", 0.0)
    if time.monotonic() - last >= TRACKING_EVERY_S:
        kernel.services["_tracking_refreshed_at"] = time.monotonic()
        try:
            from comptoir.kernel.services.tracking import refresh_tracking

            done["tracking_changed"] = int(refresh_tracking(kernel).get("changed", 0))
        except ModuleNotFoundError:
            pass
        except Exception:  # a carrier outage must not stop the other housekeeping
            log.warning("tracking refresh failed; will retry at the next round")
    try:  # mentions and reviews: each plugin at most every mentions_every_s, across processes;
        # as a job, so slow networks never hold up this round (or the in-process event pump)
        from comptoir.kernel.services.mentions import due_collectors

        if due_collectors(kernel):
            kernel.jobs.enqueue("comptoir.kernel.services.mentions:collect_due")
            done["mentions_queued"] = 1
    except Exception:  # e.g. Redis unreachable: the next round tries again
        log.warning("mention collection not queued; will retry at the next round", exc_info=True)
    try:  # social posts whose time has come, as a job too (a network may take seconds to answer)
        from comptoir.kernel.services.social_posts import has_due

        if has_due(kernel):
            kernel.jobs.enqueue("comptoir.kernel.services.social_posts:publish_due")
            done["social_posts_queued"] = 1
    except Exception:
        log.warning("social posts not queued; will retry at the next round", exc_info=True)
    try:
        from comptoir.kernel import billing_usage
    except ModuleNotFoundError:
        return done
    url, token = billing_usage._config(kernel)
    if url and token:
        try:
            done["usage_forwarded"] = int(billing_usage.forward_usage(kernel).get("sent", 0))
        except Exception:  # the marketplace may be down; records stay queued for the next round
            log.warning("usage forwarding failed; will retry at the next maintenance round")
    return done


def daily(kernel: "Kernel") -> dict[str, Any]:
    """Once a day: retrain recommendation models (through the hook, whichever plugin
    serves them) and recompute the customers' RFM segments."""
    from comptoir.kernel.services.segmentation import segment_customers

    trained = kernel.host.call("recommendations_train", reason="schedule")
    segments = segment_customers(kernel.factory)
    return {"trained": trained, "segments": segments}


def resolve(path: str) -> Callable[..., Any]:
    """``package.module:function`` or ``package.module.function`` → the function."""
    module, sep, name = path.partition(":")
    if not sep:
        module, _, name = path.rpartition(".")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValidationFailed(f"no job function {path!r}", field="job") from None
    return fn  # type: ignore[no-any-return]


# ---- runners -------------------------------------------------------------------
class _Pump:
    """A background thread that runs ``tick`` every ``poll_s``, or at once when notified."""

    name = "comptoir-jobs"
    coalesce_s = 0.05

    def __init__(self, kernel: "Kernel", poll_s: float, maintenance_s: float) -> None:
        self.kernel = kernel
        self.poll_s = poll_s
        self.maintenance_s = maintenance_s
        self._last_maintenance = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        raise NotImplementedError

    def start(self) -> "_Pump":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def notify(self) -> None:
        """Wake the pump now (call after committing events) instead of at the next poll."""
        self._wake.set()

    def _maintenance_due(self) -> bool:
        if time.monotonic() - self._last_maintenance < self.maintenance_s:
            return False
        self._last_maintenance = time.monotonic()
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("%s round failed; retrying", self.name)
            woken = self._wake.wait(self.poll_s)
            if woken:
                # Every write request notifies: under load that is hundreds of wake-ups a
                # second. Waiting a moment lets one round serve a whole burst of them.
                self._stop.wait(self.coalesce_s)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class InProcessRunner(_Pump):
    """Embedded default: one thread relays and delivers; jobs run on a small pool."""

    kind = "in-process"
    name = "comptoir-outbox"

    def __init__(self, kernel: "Kernel", *, poll_s: float = 0.5, maintenance_s: float = 60.0) -> None:
        super().__init__(kernel, poll_s, maintenance_s)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="comptoir-job")

    def tick(self) -> int:
        """Relay and deliver what is due; returns how many deliveries ran."""
        relay_outbox(self.kernel)
        ids = claim_due(self.kernel)
        for delivery_id in ids:
            deliver(self.kernel, delivery_id)
        if self._maintenance_due():
            maintenance(self.kernel)
        return len(ids)

    run_once = tick

    def drain(self, timeout_s: float = 10.0) -> None:
        """Run until nothing is due (tests, CLI)."""
        deadline = time.monotonic() + timeout_s
        while self.tick() and time.monotonic() < deadline:
            pass

    def enqueue(self, path: str, **kwargs: Any) -> Future[Any]:
        fn = resolve(path)
        return self._pool.submit(fn, self.kernel, **kwargs)

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=True, cancel_futures=False)


class RqRunner(_Pump):
    """Distributed mode: rq on Redis. The pump enqueues due deliveries; workers run them."""

    kind = "rq"
    name = "comptoir-rq-pump"

    def __init__(self, kernel: "Kernel", redis_url: str, *, poll_s: float = 0.5, queue_name: str = QUEUE_NAME,
                 maintenance_s: float = 60.0) -> None:
        from redis import Redis
        from rq import Queue

        super().__init__(kernel, poll_s, maintenance_s)
        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.redis)

    def tick(self) -> int:
        relay_outbox(self.kernel)
        ids = claim_due(self.kernel)
        for delivery_id in ids:
            self.queue.enqueue("comptoir.kernel.jobs.rq_deliver", delivery_id, job_timeout=300,
                               description=f"deliver event delivery {delivery_id}")
        if self._maintenance_due():
            self.queue.enqueue("comptoir.kernel.jobs.rq_run", "comptoir.kernel.jobs:maintenance", {},
                               job_timeout=600, description="maintenance")
        return len(ids)

    pump_once = tick

    def enqueue(self, path: str, **kwargs: Any) -> Any:
        resolve(path)  # fail now, in the caller, for a wrong name
        return self.queue.enqueue("comptoir.kernel.jobs.rq_run", path, kwargs, job_timeout=3600)


def make_runner(kernel: "Kernel") -> InProcessRunner | RqRunner:
    if kernel.settings.redis_url:
        return RqRunner(kernel, kernel.settings.redis_url)
    return InProcessRunner(kernel)


# ---- worker side (executed by `comptoir worker` processes) -----------------------
_worker_kernels: dict[str, "Kernel"] = {}
_worker_lock = threading.Lock()


def worker_kernel() -> "Kernel":
    """One booted kernel per worker process and database, built from the environment."""
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.settings import Settings

    settings = Settings.from_env()
    key = settings.effective_database_url
    with _worker_lock:
        if key not in _worker_kernels:
            _worker_kernels[key] = Kernel(settings).boot()
        kernel = _worker_kernels[key]
    kernel.host.refresh(max_age_s=0.0)  # pick up plugins enabled since the last job
    return kernel


def rq_deliver(delivery_id: int) -> str:
    return deliver(worker_kernel(), delivery_id)


def rq_run(path: str, kwargs: dict[str, Any]) -> Any:
    return resolve(path)(worker_kernel(), **kwargs)
