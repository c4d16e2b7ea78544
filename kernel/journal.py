"""The exchange journal: every hook call and brokered HTTP call, per plugin.

Recording is an append to an in-memory buffer (about a microsecond), and a background
thread writes batches to the database, so the journal stays on without slowing hook
dispatch. A crash can lose at most the last flush interval of entries; they are
diagnostics, while money and stock live in transactional tables.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.domain.events import JournalEntry

Redactor = Callable[[str], str]


class Journal:
    def __init__(self, factory: sessionmaker[Session] | None, *, enabled: bool = True,
                 flush_interval_s: float = 1.0, redact: Redactor | None = None, max_buffer: int = 100_000) -> None:
        self.factory = factory
        self.enabled = enabled and factory is not None
        self.redact: Redactor = redact or (lambda s: s)
        self._buf: deque[tuple[Any, ...]] = deque(maxlen=max_buffer)
        self._interval = flush_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, plugin: str, hook: str, duration_us: int, outcome: str, error: str = "",
               detail: dict[str, Any] | None = None) -> None:
        if self.enabled:
            self._buf.append((plugin, hook, time.time(), duration_us, outcome, error, detail))

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="comptoir-journal", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the DB may be briefly locked; the next round retries
                pass

    def flush(self) -> int:
        """Write buffered entries; returns how many were written."""
        if not self.enabled or not self._buf or self.factory is None:
            return 0
        with self._lock:
            rows = []
            while self._buf:
                plugin, hook, at, dur, outcome, error, detail = self._buf.popleft()
                rows.append({
                    "plugin": plugin, "hook": hook, "at": datetime.fromtimestamp(at, timezone.utc),
                    "duration_us": dur, "outcome": outcome, "error": self.redact(error)[:2000],
                    "detail": detail or {},
                })
            with self.factory() as s, s.begin():
                s.execute(insert(JournalEntry), rows)
            return len(rows)

    def entries(self, plugin: str | None = None, limit: int = 100, outcome: str | None = None) -> list[JournalEntry]:
        """Most recent first."""
        self.flush()
        assert self.factory is not None
        q = select(JournalEntry).order_by(JournalEntry.id.desc()).limit(limit)  # type: ignore[union-attr]
        if plugin:
            q = q.where(JournalEntry.plugin == plugin)
        if outcome:
            q = q.where(JournalEntry.outcome == outcome)
        with self.factory() as s:
            return list(s.scalars(q))
