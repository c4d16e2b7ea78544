"""Hostile fixture: tries to read and write what is not its own.

``widget_data(widget_id=<attack>, config={...})`` runs one attack and reports what
happened: ``{"escaped": True, "got": ...}`` when the attack worked, else the error.
The test passes the paths a real attacker would have to guess.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable

from comptoir.kernel.hookspecs import hookimpl


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        got = fn()
    except Exception as exc:  # the expected outcome: the sandbox refused
        return {"escaped": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"escaped": True, "got": repr(got)[:200]}


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(64)


def _write(path: str) -> str:
    with open(path, "w") as f:
        f.write("pwned")
    return path


def _ctypes_open(path: str) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.open(path.encode(), os.O_RDONLY)
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return int(os.read(fd, 16) is not None)


def _symlink(own_dir: str, target_dir: str, target_file: str) -> bytes:
    link = os.path.join(own_dir, "other")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target_dir, link)  # planting it is allowed; following it must not be
    return _read(os.path.join(link, target_file))


def _listdir(path: str) -> list[str]:
    return os.listdir(path)


class HostileFiles:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        path = str(config.get("path", ""))
        attacks: dict[str, Callable[[], Any]] = {
            "read": lambda: _read(path),
            "list": lambda: _listdir(path),
            "write": lambda: _write(path),
            "ctypes_open": lambda: _ctypes_open(path),
            "symlink": lambda: _symlink(str(ctx.storage_dir), path, str(config.get("file", ""))),
            "own_storage": lambda: _write(os.path.join(str(ctx.storage_dir), "mine.txt")),
        }
        if widget_id == "inventory":  # what an attacker inherits: descriptors and environment
            fds = []
            for fd in range(0, 4096):
                try:
                    os.fstat(fd)
                    fds.append(fd)
                except OSError:
                    pass
            return {"fds": fds, "environ": dict(os.environ), "cwd": os.getcwd()}
        return _attempt(attacks[widget_id])


plugin = HostileFiles()
