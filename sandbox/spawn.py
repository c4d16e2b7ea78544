"""Starting worker processes: through a warm zygote (fast), or directly (fallback).

Importing the kernel's types and pluggy costs a fresh interpreter ~100 ms, over the
start budget. So the kernel keeps one *zygote*: an interpreter started with a clean
environment and only its control socket, that has imported the worker code and waits.
To start a worker the kernel creates a socketpair and passes one end to the zygote
(SCM_RIGHTS); the zygote forks, and the child — single-threaded, holding only that
descriptor — confines itself exactly as a directly started worker does. The zygote
never runs plugin code, and dies with the kernel (parent-death signal); its children
die with it.

A worker's process group is its own (``setsid``), so the kernel kills the whole group.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from comptoir.sandbox import wire

CLEAN_ENV_KEYS = ("HOME", "TMPDIR", "LANG", "PATH")


def clean_env(home: str) -> dict[str, str]:
    """The whole environment a worker gets: no secrets, no PYTHON* variables."""
    return {"HOME": home, "TMPDIR": os.path.join(home, ".tmp"), "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}


class WorkerProcess:
    """The kernel's handle on one running worker: its socket and its process group."""

    def __init__(self, pid: int, sock: socket.socket, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.sock = sock
        self.popen = popen
        self.alive = True
        self._reader: wire.FrameReader | None = None

    def send(self, message: dict[str, Any], deadline: float, max_frame: int) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed before sending")
        self.sock.settimeout(remaining)
        wire.send(self.sock, message, max_frame=max_frame)

    def recv(self, deadline: float, max_frame: int) -> dict[str, Any]:
        """One frame, within ``deadline``: a worker dripping bytes cannot stretch it."""
        if self._reader is None:
            self._reader = wire.FrameReader(self.sock, max_frame)
        return self._reader.read(deadline)

    def pending(self) -> bool:
        """True when the worker wrote something (or closed) while no call was running."""
        if self._reader is not None and self._reader.buf:
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def kill(self) -> None:
        """SIGKILL the worker's whole process group, then close the socket."""
        if self.alive:
            self.alive = False
            for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass
        try:
            self.sock.close()
        except OSError:
            pass
        if self.popen is not None:
            try:
                self.popen.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass


# Processes are started from one long-lived thread: Linux sends the parent-death signal
# when the *thread* that forked a child exits, and request threads (a web server's pool)
# come and go. This thread lives as long as the kernel process, so the zygote — and the
# workers it forks — die exactly when the kernel does.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="comptoir-sandbox-spawner")


def _popen(argv: list[str], fd: int, home: str) -> subprocess.Popen[bytes]:
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, pass_fds=(fd,), close_fds=True, env=clean_env(home), cwd=home,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    return _SPAWNER.submit(start).result()


def _worker_argv(*extra: str) -> list[str]:
    # -I: no PYTHON* variables, no user site, no cwd on sys.path.
    return [sys.executable, "-I", *extra]


def spawn_direct(home: str) -> WorkerProcess:
    """A worker from a fresh interpreter (slower; used when the zygote is unavailable)."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        popen = _popen(_worker_argv("-m", "comptoir.sandbox.worker", str(child.fileno())), child.fileno(), home)
    finally:
        child.close()
    return WorkerProcess(popen.pid, parent, popen)


class Zygote:
    """Kernel side of the zygote: one per kernel, started on first use."""

    def __init__(self, home: str) -> None:
        self.home = home
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self.started_ms = 0.0

    def _start(self) -> socket.socket:
        t0 = time.perf_counter()
        os.makedirs(os.path.join(self.home, ".tmp"), exist_ok=True)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._popen = _popen(_worker_argv("-m", "comptoir.sandbox.zygote", str(child.fileno())),
                                 child.fileno(), self.home)
        finally:
            child.close()
        parent.settimeout(10)
        if parent.recv(6) != b"ready\n":
            parent.close()
            raise OSError("the sandbox zygote did not start")
        self._sock = parent
        self.started_ms = (time.perf_counter() - t0) * 1000
        return parent

    def warm(self) -> None:
        """Start the zygote now (in a background thread at kernel start), if not running."""
        with self._lock:
            if self._sock is None:
                try:
                    self._start()
                except OSError:
                    pass  # spawn() retries and reports

    def spawn(self) -> WorkerProcess:
        with self._lock:
            for attempt in (0, 1):  # a dead zygote is restarted once
                try:
                    ctl = self._sock or self._start()
                    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        socket.send_fds(ctl, [b"spawn\n"], [child.fileno()])
                    finally:
                        child.close()
                    line = b""
                    while not line.endswith(b"\n"):
                        chunk = ctl.recv(64)
                        if not chunk:
                            raise OSError("the sandbox zygote closed its socket")
                        line += chunk
                    return WorkerProcess(int(line), parent)
                except (OSError, ValueError):
                    self.close()
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None and self._sock is not None else None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()  # the zygote exits on EOF
            except OSError:
                pass
            self._sock = None
        if self._popen is not None:
            try:
                self._popen.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
            self._popen = None
