"""The ``comptoir`` command. Each module of this package adds its commands to ``cli``.

Modules are imported automatically, so a capability adds a command group by adding a
file. Errors leave as one line saying what to do, never as a traceback.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from comptoir.kernel.cli.base import cli

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")


def main(argv: list[str] | None = None) -> None:
    from sqlalchemy.exc import OperationalError

    from comptoir.kernel.errors import ComptoirError

    try:
        cli.main(args=argv, prog_name="comptoir", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ComptoirError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except OperationalError as exc:
        click.echo(f"error: the database cannot be used ({str(exc.orig).splitlines()[0]}); check "
                   "COMPTOIR_DATABASE_URL and that the server runs, then `comptoir db upgrade`", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # last resort: one line, and where the details are
        click.echo(f"error: {type(exc).__name__}: {exc} (run with COMPTOIR_DEBUG=1 for the traceback)", err=True)
        if __import__("os").environ.get("COMPTOIR_DEBUG"):
            raise
        sys.exit(1)
