"""Why an install was refused: each message names the plugin, the check, and what to do."""
from __future__ import annotations

from comptoir.kernel.errors import ComptoirError


class InstallRefused(ComptoirError):
    """A release failed a check (signature, hash, index, compatibility, conflict)."""

    status = 409
    title = "Install refused"


class UntrustedRelease(InstallRefused):
    """Signatures or hashes do not verify: the file is not what vendor and marketplace signed."""

    status = 422
    title = "Untrusted release"


class StaleIndex(InstallRefused):
    """The marketplace's signed index went back in version (rollback) or expired (freeze)."""

    title = "Stale marketplace index"


class RightsApprovalNeeded(InstallRefused):
    """The plugin asks for rights nobody approved yet; ``rights`` lists them."""

    status = 403
    title = "Rights need approval"

    def __init__(self, plugin: str, rights: list[str]) -> None:
        super().__init__(f"{plugin} asks for these rights, which need your approval: {', '.join(rights)}; "
                         f"approve them (`--yes`, or the App store page) to install")
        self.plugin = plugin
        self.rights = rights
