"""Errors of the SDK: each names the plugin, the hook or the file at fault and what to do."""
from __future__ import annotations

from comptoir.kernel.errors import ComptoirError


class SdkError(ComptoirError):
    """A vendor-side operation failed (scaffold, build, sign, publish)."""


class HookSignatureError(ComptoirError):
    """A plugin implements an unknown hook or takes parameters its spec does not give.

    ``problems`` lists every problem found, each naming the plugin and the hook.
    """

    status = 422
    title = "Invalid hook implementation"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SignatureInvalid(ComptoirError):
    """A release signature does not verify, or names a key nobody trusts."""

    status = 422
    title = "Invalid signature"


class WheelInvalid(ComptoirError):
    """A release file is not a clean pure-Python wheel with a matching RECORD."""

    status = 422
    title = "Invalid wheel"
