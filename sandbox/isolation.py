"""The isolation layers a worker applies to itself, in order, before any plugin code runs.

Each layer reports ``applied`` and a one-line detail; a layer that fails is reported
as not applied with the reason, and the later layers still run (defence in depth:
seccomp still refuses sockets when namespaces are unavailable). The kernel shows this
list per plugin (``comptoir sandbox report``), so nothing is silently skipped.

Order matters: namespaces need a single-threaded process with capabilities still
held; rlimits and fd closing come before any untrusted code; no_new_privs before
Landlock and seccomp (both require it when unprivileged); seccomp last, because it
forbids ``unshare`` and friends that the earlier steps use.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
from dataclasses import asdict, dataclass
from typing import Any

from comptoir.sandbox import landlock, seccomp

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_DUMPABLE = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Layer:
    name: str
    applied: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _err(what: str) -> OSError:
    e = ctypes.get_errno()
    return OSError(e, f"{what}: {os.strerror(e)}")


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    if _libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise _err(f"prctl({option})")


def namespaces() -> Layer:
    """A fresh user namespace (so the worker holds no capability over the host) and a
    network namespace with only a downed loopback: no route anywhere, and abstract
    Unix sockets of the host are out of reach (they are per network namespace)."""
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        err = _err("unshare(CLONE_NEWUSER|CLONE_NEWNET)")
        return Layer("namespaces", False, f"{err.strerror}; internet sockets are refused by seccomp instead")
    return Layer("namespaces", True, "own user + network namespace (no interface up, no route)")


def drop_capabilities() -> Layer:
    """Empty the bounding, ambient, effective and permitted sets (the capabilities the
    new user namespace granted are only needed to create it)."""
    try:
        for cap in range(64):
            if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
                raise _err("PR_CAPBSET_DROP")
        _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        if _libc.capset(header, data) != 0:
            raise _err("capset")
    except OSError as exc:
        return Layer("capabilities", False, str(exc))
    return Layer("capabilities", True, "all capability sets emptied")


def rlimits(limits: dict[str, int], host_uid: int) -> Layer:
    """Address space, CPU seconds, open files, file size, no core dumps, processes."""
    wanted = [
        ("AS", resource.RLIMIT_AS, limits.get("memory_bytes", 0)),
        ("CPU", resource.RLIMIT_CPU, limits.get("cpu_seconds", 0)),
        ("NOFILE", resource.RLIMIT_NOFILE, limits.get("open_files", 0)),
        ("FSIZE", resource.RLIMIT_FSIZE, limits.get("file_bytes", 0)),
        ("CORE", resource.RLIMIT_CORE, 0),
        ("NPROC", resource.RLIMIT_NPROC, limits.get("processes", 0)),
    ]
    done, failed = [], []
    for label, which, value in wanted:
        if value <= 0 and label != "CORE":
            failed.append(f"{label} not configured")
            continue
        hard = value + 1 if label == "CPU" else value  # soft CPU → SIGXCPU, one second later SIGKILL
        try:
            resource.setrlimit(which, (value, hard))
            done.append(f"{label}={value}")
        except (OSError, ValueError) as exc:
            failed.append(f"{label}: {exc}")
    # A write past FSIZE then fails with EFBIG instead of killing the worker mid-call.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    detail = ", ".join(done)
    if host_uid == 0:
        detail += " (Linux does not enforce NPROC for uid 0: process creation is refused by seccomp)"
    if failed:
        detail += "; not applied: " + "; ".join(failed)
    return Layer("rlimits", not failed, detail)


def close_fds(keep: int) -> Layer:
    """Close every descriptor but stdio (/dev/null) and the RPC socket."""
    try:
        # Not bounded by RLIMIT_NOFILE, already lowered: an inherited fd may sit above it.
        # closerange uses close_range(2), so the wide range costs nothing.
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 20)
    except OSError as exc:
        return Layer("descriptors", False, str(exc))
    return Layer("descriptors", True, f"only stdio (/dev/null) and the RPC socket (fd {keep}) open")


def death_signal() -> Layer:
    """The worker dies with the kernel, and is not dumpable (no ptrace-by-uid, no core)."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(PR_SET_DUMPABLE, 0)
    except OSError as exc:
        return Layer("parent-death", False, str(exc))
    return Layer("parent-death", True, "SIGKILL when the kernel dies; not dumpable")


def no_new_privs() -> Layer:
    try:
        _prctl(seccomp.PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        return Layer("no_new_privs", False, str(exc))
    return Layer("no_new_privs", True, "set")


def confine_files(read_only: list[str], read_write: list[str]) -> Layer:
    try:
        result = landlock.restrict(read_only, read_write, ["/dev/null", "/dev/zero", "/dev/urandom"])
    except OSError as exc:
        return Layer("landlock", False, str(exc))
    detail = f"{result.describe()}; read-only: {len(read_only)} paths, read-write: {', '.join(read_write)}"
    if result.skipped_paths:
        detail += f"; missing paths skipped: {', '.join(result.skipped_paths)}"
    return Layer("landlock", True, detail)


def syscall_filter() -> Layer:
    try:
        return Layer("seccomp", True, seccomp.install())
    except OSError as exc:
        return Layer("seccomp", False, str(exc))


def environment() -> Layer:
    keys = sorted(os.environ)
    return Layer("environment", set(keys) <= {"HOME", "TMPDIR", "LANG", "PATH"}, "variables: " + ", ".join(keys))


def apply_all(*, sock_fd: int, limits: dict[str, int], read_only: list[str], read_write: list[str],
              use_namespaces: bool = True) -> list[Layer]:
    """Apply every layer in order; returns what each one did."""
    host_uid = os.getuid()  # before unshare: inside the new namespace we appear as "nobody"
    layers = [namespaces() if use_namespaces else Layer("namespaces", False, "disabled by configuration")]
    layers.append(drop_capabilities())
    # after the credential changes above: the kernel clears the death signal on each one
    layers.append(death_signal())
    layers.append(rlimits(limits, host_uid))
    layers.append(close_fds(sock_fd))
    layers.append(environment())
    layers.append(no_new_privs())
    layers.append(confine_files(read_only, read_write))
    layers.append(syscall_filter())
    return layers
