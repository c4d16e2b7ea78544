"""ASGI entry point for uvicorn workers: builds the kernel from the environment.

``uvicorn comptoir.kernel.asgi:app --factory`` (what ``comptoir serve --workers N``
runs) gives each worker process its own kernel over the same database.
"""
from __future__ import annotations

from typing import Any


def app() -> Any:
    from comptoir.kernel.migrate import upgrade
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.settings import Settings
    from comptoir.kernel.web.app import create_app

    kernel = Kernel(Settings.from_env())
    upgrade(kernel.engine)
    return create_app(kernel.boot())
