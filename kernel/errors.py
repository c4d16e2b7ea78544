"""Every kernel error says what failed, for which plugin or input, and what to do."""
from __future__ import annotations


class ComptoirError(Exception):
    """Base of all domain errors. ``field`` names the input at fault, when there is one."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ComptoirError):
    status = 404
    title = "Not found"


class ValidationFailed(ComptoirError):
    status = 422
    title = "Invalid input"


class Conflict(ComptoirError):
    status = 409
    title = "Conflict"


class OutOfStock(Conflict):
    title = "Out of stock"


class PaymentDeclined(ComptoirError):
    status = 402
    title = "Payment declined"


class InvalidTransition(Conflict):
    title = "Invalid state change"


class PluginError(ComptoirError):
    """A plugin failed; ``plugin`` and ``hook`` say which."""

    status = 502
    title = "Plugin failed"

    def __init__(self, message: str, *, plugin: str, hook: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook


class NoProvider(ComptoirError):
    """No enabled plugin can serve a capability (e.g. no carrier quotes this address)."""

    status = 409
    title = "No provider"


class ScopeDenied(ComptoirError):
    """A plugin used data or a host outside its grant."""

    status = 403
    title = "Right not granted"

    def __init__(self, plugin: str, scope: str) -> None:
        super().__init__(
            f"plugin {plugin!r} needs the right {scope!r}, which is not granted; "
            f"an admin can grant it with `comptoir plugins grant {plugin} {scope}`"
        )
        self.plugin = plugin
        self.scope = scope


class ManifestError(ComptoirError):
    """A plugin manifest is invalid; the message names the plugin and the field."""

    status = 422
    title = "Invalid plugin manifest"
