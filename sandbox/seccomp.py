"""A seccomp-BPF deny list, assembled by hand with ``struct`` and installed with prctl.

Why hand-assembled: the filter is ~100 instructions of classic BPF, libseccomp's Python
binding is not on PyPI in a form that installs cleanly into a virtualenv, and a
dependency-free filter behaves the same on every machine the kernel runs on.

What it refuses (``EPERM`` unless said otherwise):

- debugging and other processes' memory: ptrace, process_vm_readv/writev, kcmp, pidfd_getfd;
- kernel attack surface a plugin never needs: bpf, io_uring_*, userfaultfd, keyctl &
  co, perf_event_open, modules, kexec, reboot, swap, clocks, open_by_handle_at;
- namespaces and mounts: unshare, setns, mount & the new mount API, pivot_root, chroot,
  and ``clone`` with any ``CLONE_NEW*`` flag;
- new processes: fork, vfork, execve(at), and ``clone`` without ``CLONE_THREAD`` (threads
  stay allowed); ``clone3`` answers ``ENOSYS`` so the C library falls back to ``clone``,
  whose flags a classic filter can read. This holds the fork bomb even where
  ``RLIMIT_NPROC`` does not apply (Linux exempts uid 0 from it);
- ``prctl(PR_SET_PDEATHSIG)``: the worker's parent-death signal cannot be cleared;
- sockets: ``socket()`` for every family (``EACCES``). Internet families are the
  obvious part; Unix sockets are refused too because named ones (PostgreSQL's
  ``/run/postgresql/.s.PGSQL.5432`` with trust auth, for one) escape both the network
  namespace and Landlock's filesystem rules. ``socketpair(AF_UNIX)`` stays allowed
  (asyncio's self-pipe); its fds cannot reach anything outside the worker.

Only x86-64 is described; on another architecture the layer reports itself as not
applied rather than guessing syscall numbers.
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_RET_K = 0x06

SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

CLONE_THREAD = 0x00010000
# NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (NEWTIME only exists for clone3/unshare)
CLONE_NEW_ANY = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
DENIED_X86_64: dict[str, int] = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
    "bpf": 321, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249, "perf_event_open": 298,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
    "kexec_file_load": 320, "reboot": 169, "swapon": 167, "swapoff": 168, "syslog": 103,
    "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "acct": 163, "quotactl": 179,
    "iopl": 172, "ioperm": 173, "modify_ldt": 154, "uselib": 134, "personality": 135,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "fanotify_init": 300,
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
}
SYS_SOCKET, SYS_SOCKETPAIR, SYS_CLONE, SYS_CLONE3, SYS_PRCTL = 41, 53, 56, 435, 157
PR_SET_PDEATHSIG = 1
AF_UNIX = 1


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("HBBI", code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _errno(err: int) -> bytes:
    return _stmt(_RET_K, SECCOMP_RET_ERRNO | (err & 0xFFFF))


def build_filter() -> list[bytes]:
    """The filter as a list of 8-byte ``sock_filter`` instructions (x86-64)."""
    arg0 = 16  # offsetof(struct seccomp_data, args[0]); the low 32 bits on little-endian
    prog = [
        _stmt(_LD_W_ABS, 4),  # arch
        _jump(_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _stmt(_RET_K, SECCOMP_RET_KILL_PROCESS),  # a foreign ABI (int 0x80) is never legitimate here
        _stmt(_LD_W_ABS, 0),  # syscall number
        _jump(_JSET_K, X32_SYSCALL_BIT, 0, 1),
        _errno(errno.EPERM),
    ]
    for nr in sorted(set(DENIED_X86_64.values())):
        prog += [_jump(_JEQ_K, nr, 0, 1), _errno(errno.EPERM)]
    prog += [
        _jump(_JEQ_K, SYS_SOCKET, 0, 1), _errno(errno.EACCES),
        _jump(_JEQ_K, SYS_CLONE3, 0, 1), _errno(errno.ENOSYS),
        # prctl: the parent-death signal set by the worker stays (no orphan outliving the kernel)
        _jump(_JEQ_K, SYS_PRCTL, 0, 3),
        _stmt(_LD_W_ABS, arg0),
        _jump(_JEQ_K, PR_SET_PDEATHSIG, 0, 1),
        _errno(errno.EPERM),
        _stmt(_LD_W_ABS, 0),  # reload the syscall number for the checks below
        # socketpair: AF_UNIX only
        _jump(_JEQ_K, SYS_SOCKETPAIR, 0, 4),
        _stmt(_LD_W_ABS, arg0),
        _jump(_JEQ_K, AF_UNIX, 0, 1),
        _stmt(_RET_K, SECCOMP_RET_ALLOW),
        _errno(errno.EAFNOSUPPORT),
        # clone: threads only, and no new namespaces
        _jump(_JEQ_K, SYS_CLONE, 0, 5),
        _stmt(_LD_W_ABS, arg0),
        _jump(_JSET_K, CLONE_NEW_ANY, 2, 0),
        _jump(_JSET_K, CLONE_THREAD, 0, 1),
        _stmt(_RET_K, SECCOMP_RET_ALLOW),
        _errno(errno.EPERM),
        _stmt(_RET_K, SECCOMP_RET_ALLOW),
    ]
    return prog


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


def install() -> str:
    """Install the filter on the calling (single-threaded) process.

    Needs no_new_privs (set by the caller). Returns a one-line description; raises
    ``OSError`` when the kernel refuses the filter.
    """
    if not supported():
        raise OSError(errno.ENOSYS, f"no syscall table for {platform.machine()}")
    prog = build_filter()
    blob = ctypes.create_string_buffer(b"".join(prog))
    fprog = _SockFprog(len(prog), ctypes.cast(blob, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(err, err)}")
    return (f"{len(prog)} instructions: {len(DENIED_X86_64)} syscalls denied, socket() denied for every "
            "family, socketpair AF_UNIX only, clone threads only, parent-death signal locked")
