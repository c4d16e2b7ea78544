"""A per-plugin circuit breaker: after repeated failures a plugin is skipped for a while."""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Breaker:
    """Closed → open after ``threshold`` consecutive failures; after ``cooldown_s`` one
    trial call is let through (half-open): success closes it, failure re-opens it."""

    threshold: int = 5
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float = 0.0

    def allow(self) -> bool:
        if self.failures < self.threshold:
            return True
        if time.monotonic() - self.opened_at >= self.cooldown_s:
            self.opened_at = time.monotonic()  # let one trial through, hold the others
            return True
        return False

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold
