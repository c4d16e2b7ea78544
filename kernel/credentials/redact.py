"""Masks every secret value this process has decrypted or stored, wherever text goes.

The journal's ``redact`` hook, the broker's error messages and the log filter all
pass through ``Redactor.__call__``. Encoded forms a value takes on the wire (URL
quoting, the base64 of HTTP basic auth, HMAC signatures) are added by whoever
produces them, so they are masked too.
"""
from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "[secret]"
MIN_LEN = 4  # shorter strings would mask ordinary words; no real credential is this short


class Redactor:
    """A set of known secret strings and one compiled pattern that matches any of them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Remember ``value`` (and its URL-encoded forms) as secret."""
        if value in self._values:  # the common case on the hot path: seen before
            return
        forms = {value, quote(value, safe=""), quote_plus(value)}
        new = {f for f in forms if len(f) >= MIN_LEN} - self._values
        if new:
            with self._lock:
                self._values |= new
                self._pattern = None

    def __contains__(self, value: str) -> bool:
        return value in self._values

    def __call__(self, text: str) -> str:
        if not text or not self._values:
            return text
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                # longest first, so a value containing another is masked whole
                alts = sorted(self._values, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(re.escape(v) for v in alts))
        return pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks known secrets in every record's final message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        clean = self.redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


# One per process: "every secret this process has decrypted" is a process-wide fact,
# and several kernels (tests, the SDK's test kernel) may share one interpreter.
PROCESS_REDACTOR = Redactor()
_installed = False


def install_log_redaction(redactor: Redactor) -> None:
    """Mask secrets in every log record created from now on, whatever logger or handler.

    A record factory runs for every record that passes the level check, before any
    handler (pytest's caplog included) sees it; a handler filter would miss handlers
    added later.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)  # type: ignore[arg-type]
        if redactor._values:
            try:
                message = record.getMessage()
            except Exception:
                return record
            clean = redactor(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                if redactor(str(exc)) != str(exc):  # the traceback would print the secret
                    record.exc_info = None
                    record.msg = f"{record.getMessage()} ({type(exc).__name__}; traceback withheld: it held a secret)"
                    record.args = None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
