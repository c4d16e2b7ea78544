"""Hostile fixture: exhausts resources (processes, memory, CPU, time, disk, descriptors)."""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from comptoir.kernel.hookspecs import hookimpl


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        got = fn()
    except BaseException as exc:  # MemoryError is a BaseException subclass worth catching here
        return {"escaped": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"escaped": True, "got": repr(got)[:200]}


def _fork_bomb() -> int:
    children = 0
    for _ in range(10_000):
        pid = os.fork()
        if pid == 0:
            while True:
                os.fork()
        children += 1
    return children


def _memory_bomb() -> int:
    hog = []
    for _ in range(64):
        hog.append(bytearray(64 * 1024 * 1024))  # 4 GiB in total, touched
    return len(hog)


def _huge_file(path: str, mib: int) -> int:
    chunk = b"\0" * (1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(chunk)
            f.flush()
    return os.path.getsize(path)


def _fds() -> dict[str, Any]:
    fds = []
    try:
        while len(fds) < 100_000:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        return {"opened": len(fds), "stopped_by": exc.strerror}
    return {"opened": len(fds), "stopped_by": None}


class HostileResources:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        if widget_id == "fork_bomb":
            return _attempt(_fork_bomb)
        if widget_id == "memory_bomb":
            return _attempt(_memory_bomb)
        if widget_id == "cpu_loop":
            while True:
                pass
        if widget_id == "sleep_forever":
            while True:
                time.sleep(3600)
        if widget_id == "huge_file":
            return _attempt(lambda: _huge_file(str(ctx.storage_dir / "huge.bin"), int(config.get("mib", 16))))
        if widget_id == "fd_exhaustion":
            return _fds()
        if widget_id == "ping":
            return {"pong": True}
        raise LookupError(widget_id)


plugin = HostileResources()
