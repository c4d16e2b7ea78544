"""Kernel extension: ``kernel.services["sandbox"]``, and untrusted plugins into it.

Loaded by ``comptoir.kernel.runtime`` (EXTENSION_MODULES). ``COMPTOIR_SANDBOX`` chooses
what runs in the sandbox:

- ``untrusted`` (default): third-party plugins run in a worker — marketplace installs
  always, pip-installed (entry-point) plugins unless their manifest says ``trusted`` —
  except the ids the operator lists in ``COMPTOIR_TRUSTED_PLUGINS``;
- ``off``: nothing is adopted automatically; plugins added through
  ``kernel.services["sandbox"].add(...)`` still run sandboxed.

``COMPTOIR_SANDBOX_ZYGOTE=0`` starts every worker from a fresh interpreter.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from comptoir.sandbox.manager import SandboxManager

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel


def extend(kernel: "Kernel") -> None:
    """Attach the sandbox manager; adopt untrusted plugins as the host discovers them."""
    manager = SandboxManager(kernel, use_zygote=os.environ.get("COMPTOIR_SANDBOX_ZYGOTE", "1") != "0")
    kernel.services["sandbox"] = manager
    if os.environ.get("COMPTOIR_SANDBOX", "untrusted") == "off":
        return
    host = kernel.host
    discover = host.discover

    def discover_and_adopt() -> Any:
        found = discover()
        # every record known now: entry points just found, marketplace installs registered
        # by the installer extension
        manager.adopt(list(host.records.values()))
        return found

    host.discover = discover_and_adopt  # type: ignore[method-assign]
