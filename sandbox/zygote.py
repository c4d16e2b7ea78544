"""The zygote: ``python -I -m comptoir.sandbox.zygote <fd>`` (see :mod:`comptoir.sandbox.spawn`).

It imports the worker code once, then for each ``spawn`` request (one descriptor passed
with SCM_RIGHTS) forks a child that becomes a worker on that descriptor. The zygote
itself never imports plugin code, keeps no descriptor but its control socket, and is
single-threaded, so a forked child may still create its user namespace.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys

from comptoir.sandbox import worker

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    ctl = socket.socket(fileno=int(argv[1]))
    # Die with the kernel: its spawner thread lives as long as the kernel process. And if
    # the signal is missed, the control socket's EOF ends the loop below all the same.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited workers are reaped by the system
    ctl.sendall(b"ready\n")
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, 4)
        except OSError:
            return 0
        if not msg:
            return 0  # the kernel closed the control socket
        if len(fds) != 1 or msg != b"spawn\n":
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:  # the worker-to-be
            code = 1
            try:
                ctl.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                code = worker.main(["worker", str(fds[0])])
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(fds[0])
        ctl.sendall(f"{pid}\n".encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
