"""Landlock through raw syscalls (ctypes): filesystem, TCP and IPC scoping for the worker.

Landlock needs no privilege: any process can restrict itself after no_new_privs. The
ruleset handles every right the running kernel's ABI knows, then allows:

- read + execute beneath the runtime and code paths (Python, site-packages, the
  kernel's plain-type modules, the plugin's own code);
- everything beneath the plugin's data directory;
- read + write on a few device files (/dev/null, /dev/urandom).

Nothing else: not the shop database, not the master key, not another plugin's data,
not /proc (so not ``/proc/<kernel pid>/environ``). From ABI 4 TCP bind/connect are
handled and never allowed; from ABI 6 the domain is *scoped*: it can neither connect
to an abstract Unix socket nor signal a process created outside it (the kernel).
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct
from dataclasses import dataclass, field

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi_version() -> int:
    """The Landlock ABI of the running kernel, 0 when Landlock is absent or disabled."""
    r = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return int(r) if r > 0 else 0


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE … MAKE_SYM
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


@dataclass
class LandlockResult:
    abi: int
    fs: bool = False
    tcp: bool = False
    scoped_abstract_unix: bool = False
    scoped_signal: bool = False
    skipped_paths: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"ABI {self.abi}", "filesystem"]
        parts.append("TCP bind/connect denied" if self.tcp else "TCP not handled (ABI < 4)")
        parts.append("abstract-unix + signal scoped" if self.scoped_signal else "no IPC scoping (ABI < 6)")
        return ", ".join(parts)


def _check(r: int, what: str) -> int:
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {errno.errorcode.get(err, err)}")
    return r


def restrict(read_only: list[str], read_write: list[str], devices: list[str]) -> LandlockResult:
    """Confine the calling process for good. Raises ``OSError`` when Landlock is unusable."""
    abi = abi_version()
    if abi <= 0:
        raise OSError(errno.EOPNOTSUPP, "Landlock is not enabled in this kernel (see /sys/kernel/security/lsm)")
    fs = _fs_rights(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("QQQ", fs, net, scoped)
    elif abi >= 4:
        attr = struct.pack("QQ", fs, net)
    else:
        attr = struct.pack("Q", fs)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(_libc.syscall(SYS_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)),
                     "landlock_create_ruleset")
    result = LandlockResult(abi=abi, fs=True, tcp=bool(net), scoped_abstract_unix=bool(scoped),
                            scoped_signal=bool(scoped))
    try:
        rules = [(p, READ_ONLY) for p in read_only] + [(p, fs) for p in read_write]
        rules += [(p, FS_READ_FILE | FS_WRITE_FILE) for p in devices]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                result.skipped_paths.append(path)
                continue
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS  # directory-only rights are invalid on a file rule
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights & fs, fd), 12)
                _check(_libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                     rule, ctypes.c_uint32(0)), f"landlock_add_rule({path})")
            finally:
                os.close(fd)
        _check(_libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return result
