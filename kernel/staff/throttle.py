"""Login throttling shared by every web worker (it lives in the database).

Each failed sign-in counts against the account and against the client address.
After ``LIMIT`` failures inside ``WINDOW`` the key is locked, for a time that doubles
with each further failure (capped), so guessing is slow while a typo costs nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import transaction
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.staff.models import LoginThrottle

LIMIT = 5
WINDOW = timedelta(minutes=15)
BASE_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=30)


class TooManyAttempts(ComptoirError):
    status = 429
    title = "Too many attempts"


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def check(factory: sessionmaker[Session], keys: list[str]) -> None:
    """Raise ``TooManyAttempts`` when any key is locked now."""
    now = utcnow()
    with factory() as s:
        for key in keys:
            row = s.get(LoginThrottle, key[:200])
            until = _aware(row.locked_until) if row else None
            if until is not None and until > now:
                wait = int((until - now).total_seconds()) + 1
                raise TooManyAttempts(f"too many failed sign-ins; try again in {wait} s", field="password")


def failed(factory: sessionmaker[Session], keys: list[str]) -> None:
    now = utcnow()
    with transaction(factory) as s:
        for key in keys:
            row = s.get(LoginThrottle, key[:200])
            if row is None:
                row = LoginThrottle(key=key[:200], failures=0, window_start=now)
            start = _aware(row.window_start)
            if start is None or now - start > WINDOW:
                row.failures, row.window_start = 0, now
            row.failures += 1
            if row.failures >= LIMIT:
                lock = min(BASE_LOCK * 2 ** (row.failures - LIMIT), MAX_LOCK)
                row.locked_until = now + lock
            s.add(row)


def succeeded(factory: sessionmaker[Session], keys: list[str]) -> None:
    with transaction(factory) as s:
        for key in keys:
            row = s.get(LoginThrottle, key[:200])
            if row is not None:
                s.delete(row)
