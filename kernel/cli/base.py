"""The root ``comptoir`` group and the helpers every command module shares."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import click

from comptoir.kernel.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="comptoir")
def cli() -> None:
    """Comptoir: a commerce kernel with an app store.

    Settings come from the environment: COMPTOIR_HOME (default ./.comptoir),
    COMPTOIR_DATABASE_URL (default SQLite in the home), COMPTOIR_REDIS_URL (jobs on rq).
    """


def open_kernel(*, boot: bool = True, migrate: bool = True) -> Any:
    """A kernel for a CLI command; upgrades the schema first so a new shop just works."""
    from comptoir.kernel.migrate import upgrade
    from comptoir.kernel.runtime import Kernel

    kernel = Kernel(Settings.from_env())
    if migrate:
        upgrade(kernel.engine)
    return kernel.boot() if boot else kernel


def with_kernel(fn: F) -> F:
    """Pass a booted kernel as the first argument and close it afterwards."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        kernel = open_kernel()
        try:
            return fn(kernel, *args, **kwargs)
        finally:
            kernel.close()

    return run  # type: ignore[return-value]


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
