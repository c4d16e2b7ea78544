"""Marketplace errors reuse the kernel's error family so the HTTP layer maps them alike."""
from __future__ import annotations

from comptoir.kernel.errors import ComptoirError, Conflict, NotFound, ValidationFailed

__all__ = ["ComptoirError", "Conflict", "NotFound", "ValidationFailed", "Unauthorized", "Forbidden"]


class Unauthorized(ComptoirError):
    status = 401
    title = "Unauthorized"


class Forbidden(ComptoirError):
    status = 403
    title = "Forbidden"
