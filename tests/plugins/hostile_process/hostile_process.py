"""Hostile fixture: signals the kernel, escapes through syscalls, crashes mid-call."""
from __future__ import annotations

import ctypes
import os
import signal
from typing import Any, Callable

from comptoir.kernel.hookspecs import hookimpl

CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
PTRACE_ATTACH = 16


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        got = fn()
    except Exception as exc:
        return {"escaped": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"escaped": True, "got": repr(got)[:200]}


def _libc_call(name: str, *args: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    r = getattr(libc, name)(*args)
    if r != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return r


class HostileProcess:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        pid = int(config.get("pid", 0))
        if widget_id == "signal":
            return _attempt(lambda: os.kill(pid, signal.SIGTERM))
        if widget_id == "signal_parent":  # the zygote: killing it would stop new workers
            return _attempt(lambda: os.kill(os.getppid(), signal.SIGKILL))
        if widget_id == "unshare":
            return _attempt(lambda: _libc_call("unshare", CLONE_NEWUSER | CLONE_NEWNS))
        if widget_id == "ptrace":
            return _attempt(lambda: _libc_call("ptrace", PTRACE_ATTACH, pid, 0, 0))
        if widget_id == "pdeathsig":  # survive the kernel as an orphan
            return _attempt(lambda: _libc_call("prctl", 1, 0, 0, 0, 0))
        if widget_id == "exec":
            return _attempt(lambda: os.execv("/bin/sh", ["sh", "-c", "true"]))
        if widget_id == "crash":
            os._exit(3)
        if widget_id == "segfault":
            ctypes.string_at(0)
        if widget_id == "abort":
            os.abort()
        raise LookupError(widget_id)


plugin = HostileProcess()
