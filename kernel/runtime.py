"""The ``Kernel``: settings, database, plugin host and jobs, wired once.

The web app, the CLI, the rq worker and the tests all build one of these; nothing
else holds global state.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from sqlalchemy import Engine

from comptoir.kernel.db import make_engine, session_factory
from comptoir.kernel.plugins import PluginHost
from comptoir.kernel.settings import Settings

log = logging.getLogger("comptoir")

# Plugins a new shop enables on first start. They are ordinary installed plugins,
# named here only by id: the kernel never imports them (see DESIGN.md, principle 1).
DEFAULT_PLUGINS = ("manual-payment", "flat-rate-shipping", "recommendations", "core-widgets")

# Kernel extensions, by module: each module defines ``extend(kernel)``, which runs after
# the kernel is wired and may attach services (``kernel.services[...]``), replace the
# rights policy, or add context extras (brokered HTTP, credentials, sandbox proxies).
EXTENSION_MODULES: tuple[str, ...] = (
    "comptoir.kernel.credentials.extension",
    "comptoir.sandbox.extension",
    "comptoir.kernel.installer.extension",
    "comptoir.kernel.billing_usage",
)
EXTENSIONS: list[Callable[["Kernel"], None]] = []


def _load_extensions() -> list[Callable[["Kernel"], None]]:
    import importlib

    found = list(EXTENSIONS)
    for name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that capability is not part of this build
            raise
        found.append(module.extend)
    return found


class Kernel:
    def __init__(self, settings: Settings | None = None, *, engine: Engine | None = None,
                 discover: bool = True, default_enabled: Iterable[str] = DEFAULT_PLUGINS) -> None:
        self.settings = settings or Settings.from_env()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = engine or make_engine(self.settings.effective_database_url)
        self.factory = session_factory(self.engine)
        # Cart edits on PostgreSQL go through a small pool whose sessions do not wait for
        # the disk at commit (synchronous_commit off, set once per connection instead of a
        # SET LOCAL per request): a crash may lose the last milliseconds of cart edits,
        # which the shopper redoes. Orders, payments and stock keep full durability.
        self.cart_engine = self.engine if self.engine.dialect.name != "postgresql" else make_engine(
            self.engine.url.render_as_string(hide_password=False), pool_size=5,
            pg_options="-c synchronous_commit=off")
        self.host = PluginHost(self.settings, self.factory)
        self.services: dict[str, Any] = {}
        for extend in _load_extensions():
            extend(self)
        if discover:
            self.host.discover()
        self._default_enabled = tuple(default_enabled)
        self._jobs: Any = None

    def boot(self) -> "Kernel":
        """Apply stored plugin state and start the journal writer."""
        self.host.load_state(default_enabled=self._default_enabled)
        self.host.start()
        return self

    @property
    def jobs(self) -> Any:
        """The job runner: rq when ``COMPTOIR_REDIS_URL`` is set, in-process otherwise."""
        if self._jobs is None:
            from comptoir.kernel.jobs import make_runner

            self._jobs = make_runner(self)
        return self._jobs

    @property
    def jobs_started(self) -> bool:
        return self._jobs is not None

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.stop()
        self.host.stop()
        for name, service in list(self.services.items()):  # sandbox workers, HTTP clients …
            closer = getattr(service, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:
                    log.exception("closing the %s service failed", name)
        if self.cart_engine is not self.engine:
            self.cart_engine.dispose()
        self.engine.dispose()

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
