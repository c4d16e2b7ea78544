"""Errors of the credential store. Messages name plugins, accounts and ids, never values."""
from __future__ import annotations

from comptoir.kernel.errors import ComptoirError, Conflict, NotFound


class Sealed(ComptoirError):
    """The store has no usable master key: nothing can be encrypted or decrypted."""

    status = 503
    title = "Credential store sealed"


class CredentialNotFound(NotFound):
    """No such account or secret for this plugin (or it was deleted)."""


class VersionConflict(Conflict):
    """A check-and-set write lost: the secret moved to another version first."""


class DecryptionFailed(ComptoirError):
    """A ciphertext did not authenticate (tampered, moved to another row, wrong key)."""

    status = 500
    title = "Credential integrity failure"


class AuditUnavailable(ComptoirError):
    """The audit log could not be written, so the credential use was refused."""

    status = 503
    title = "Audit log unavailable"


class BrokerError(ComptoirError):
    """A brokered HTTP call failed before reaching the provider (message redacted)."""

    status = 502
    title = "Brokered call failed"


class OAuthError(ComptoirError):
    """A connect or refresh flow with a provider failed."""

    status = 502
    title = "Account connection failed"
