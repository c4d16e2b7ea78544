"""Hostile fixture: tries to reach the network or local services.

Every target is on this machine (given by the test): a TCP listener, a UDP "DNS"
server, an abstract and a named Unix socket. ``escaped`` is True if one answered.
"""
from __future__ import annotations

import socket
from typing import Any, Callable

from comptoir.kernel.hookspecs import hookimpl


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        got = fn()
    except Exception as exc:
        return {"escaped": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"escaped": True, "got": repr(got)[:200]}


def _tcp(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=0.5) as s:
        s.sendall(b"hello from the sandbox")
        return s.recv(16)


def _udp(host: str, port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        # a DNS query for example.com, sent to the test's own "resolver"
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        return s.sendto(query, (host, port))


def _unix(address: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        s.connect(address)
        s.sendall(b"hello")
        return b"connected"


class HostileNet:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        host, port = str(config.get("host", "127.0.0.1")), int(config.get("port", 0))
        attacks: dict[str, Callable[[], Any]] = {
            "tcp": lambda: _tcp(host, port),
            "tcp6": lambda: _tcp("::1", port),
            "udp": lambda: _udp(host, port),
            "abstract": lambda: _unix("\0" + str(config.get("name", ""))),
            "named_unix": lambda: _unix(str(config.get("path", ""))),
        }
        return _attempt(attacks[widget_id])


plugin = HostileNet()
