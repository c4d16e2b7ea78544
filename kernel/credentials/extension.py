"""Wires the credential store into a kernel (run by ``Kernel.__init__``).

It replaces the default rights policy by the database-backed one, attaches
``ctx.http`` and ``ctx.credentials`` to every plugin context, and makes the journal
and the logs mask every secret value this process has seen. It touches no table:
the schema may not be migrated yet; the keyring loads (or starts sealed) on first use.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from comptoir.kernel.credentials.keys import ensure_master_key
from comptoir.kernel.credentials.redact import PROCESS_REDACTOR, install_log_redaction
from comptoir.kernel.credentials.service import Credentials

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

__all__ = ["extend", "ensure_master_key"]


def extend(kernel: "Kernel") -> None:
    """Attach the credential store to ``kernel``."""
    creds = Credentials(kernel.settings, kernel.factory, kernel.host.journal, PROCESS_REDACTOR)
    kernel.services["credentials"] = creds
    kernel.host.rights = creds.rights
    previous = kernel.host.journal.redact
    kernel.host.journal.redact = lambda text: PROCESS_REDACTOR(previous(text))
    install_log_redaction(PROCESS_REDACTOR)

    def attach(rec: Any, ctx: Any) -> None:
        ctx.http = creds.http_for(rec.name)
        ctx.credentials = creds.credentials_for(rec.name, rec.manifest)

    kernel.host.context_extras.append(attach)
    logging.getLogger("comptoir.credentials").debug("credential store attached")
