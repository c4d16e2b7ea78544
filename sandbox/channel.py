"""The worker's end of the RPC socket, and the context a sandboxed plugin receives.

Inside the worker, ``ctx`` looks like the kernel's ``PluginContext``: ``plugin``,
``settings``, ``log``, ``storage_dir``, ``data.*``, ``http``. Every ``data`` and ``http``
call crosses the socket back to the kernel, where that plugin's real context serves it
(rights are checked there, never here: the worker is untrusted).
"""
from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from comptoir.sandbox import wire


class RemoteError(Exception):
    """The kernel refused or failed a context call; ``kind`` is the kernel's error type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Channel:
    """Frames in and out of the worker; context calls wait for their reply in place."""

    def __init__(self, sock: socket.socket, *, max_in: int, max_out: int) -> None:
        self.sock = sock
        self.max_in = max_in
        self.max_out = max_out
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._reader = wire.FrameReader(sock, max_in)

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            wire.send(self.sock, message, max_frame=self.max_out)

    def recv(self) -> dict[str, Any]:
        return self._reader.read()

    def request(self, op: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Ask the kernel for ``op`` (``data.orders``, ``http.request`` …) and wait."""
        rid = next(self._ids)
        self.send({"t": "ctx", "id": rid, "op": op, "args": wire.encode(list(args)),
                   "kwargs": wire.encode(dict(kwargs))})
        reply = self.recv()
        if reply.get("t") == "bye":
            raise SystemExit(0)
        if reply.get("t") != "reply" or reply.get("id") != rid:
            raise wire.ProtocolError(f"expected the reply to context call {rid}, got {reply.get('t')!r}")
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise _rebuild_error(str(err.get("type", "RemoteError")), str(err.get("message", "")), err)
        return wire.decode(reply.get("value"))


def _rebuild_error(kind: str, message: str, err: dict[str, Any]) -> Exception:
    if kind == "ScopeDenied":
        from comptoir.kernel.errors import ScopeDenied

        return ScopeDenied(str(err.get("plugin", "")), str(err.get("scope", "")))
    return RemoteError(kind, message)


class _Remote:
    """Turns ``obj.name(*args, **kwargs)`` into a context call ``prefix.name``."""

    def __init__(self, channel: Channel, prefix: str) -> None:
        self._channel = channel
        self._prefix = prefix

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._channel.request(f"{self._prefix}.{name}", list(args), kwargs)

        call.__name__ = name
        return call


class Response:
    """The brokered answer: status, headers and body (already read, size-capped)."""

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RemoteError("HTTPStatusError", f"{self.status_code} from {self.url}")


class BrokeredHttp:
    """``ctx.http`` inside the sandbox: every request goes through the kernel's broker,
    which checks the declared hosts and injects the connected account's credentials."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                content: bytes | str | None = None, json: Any = None, params: Mapping[str, str] | None = None,
                account: str | None = None, timeout: float | None = None) -> Response:
        body = content.encode() if isinstance(content, str) else content
        answer = self._channel.request("http.request", [method, url], {
            "headers": dict(headers or {}), "content": body, "json": json, "params": dict(params or {}),
            "account": account, "timeout": timeout,
        })
        return Response(int(answer["status_code"]), dict(answer["headers"]), answer["content"], answer["url"])

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)


class _LogHandler(logging.Handler):
    """Sends the plugin's log records to the kernel, which logs them under its name."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._channel.send({"t": "log", "level": record.levelno, "msg": self.format(record)[:4000]})
        except Exception:  # a log line must never break the hook that wrote it
            pass


class SandboxContext:
    """What a sandboxed plugin receives as ``ctx``."""

    def __init__(self, channel: Channel, plugin: str, settings: Mapping[str, Any], storage_dir: Path) -> None:
        self.plugin = plugin
        self.settings: Mapping[str, Any] = dict(settings)
        self.storage_dir = storage_dir
        self.data = _Remote(channel, "data")
        self.http = BrokeredHttp(channel)
        self.credentials = _Remote(channel, "credentials")  # accounts(), connected(), raw() where granted
        self.extras: dict[str, Any] = {}
        self.log = logging.getLogger(f"comptoir.plugin.{plugin}")
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.log.handlers = [_LogHandler(channel)]

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def days_ago(self, days: int) -> datetime:
        return self.now() - timedelta(days=days)
