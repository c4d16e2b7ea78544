"""The sandbox RPC wire: length-prefixed JSON frames and a tagged codec for hook values.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. Both
sides refuse a frame longer than their limit *before* reading its body, so a hostile
worker cannot make the kernel allocate a huge buffer.

Hook arguments and results are the frozen dataclasses of ``comptoir.kernel.types``.
They travel as ``{"__t": "ShippingQuote", ...fields}``; ``Money`` as
``{"__t": "Money", "amount": .., "currency": ..}``; bytes, tuples, sets, datetimes and
dicts with non-string keys carry their own tags. Decoding only ever builds the types
listed in ``TYPES``: a worker cannot make the kernel instantiate anything else.

This module is imported by the worker before confinement, so it stays light (stdlib +
the kernel's plain types, no database or web imports).
"""
from __future__ import annotations

import base64
import dataclasses
import json
import socket
import struct
import time
from datetime import date, datetime
from typing import Any

from comptoir.kernel import types as _types
from comptoir.kernel.money import Money

HEADER = struct.Struct(">I")
DEFAULT_MAX_FRAME = 4 * 1024 * 1024
TAG = "__t"

TYPES: dict[str, type] = {"Money": Money}
for _name in dir(_types):
    _obj = getattr(_types, _name)
    if isinstance(_obj, type) and dataclasses.is_dataclass(_obj) and _obj.__module__ == _types.__name__:
        TYPES[_name] = _obj


class ProtocolError(Exception):
    """The peer broke the protocol (oversized or malformed frame, unknown type, EOF)."""


class PeerClosed(ProtocolError):
    """The peer closed the connection (a crashed or killed worker, or a gone kernel)."""


# ---- codec -----------------------------------------------------------------------
def encode(value: Any, depth: int = 0) -> Any:
    """A hook value → JSON-compatible structure with type tags."""
    if depth > 64:
        raise ProtocolError("value nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Money):
        return {TAG: "Money", "amount": value.amount, "currency": value.currency}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if TYPES.get(name) is not type(value):
            raise ProtocolError(f"cannot send a {name}: only comptoir.kernel.types values cross the sandbox")
        out: dict[str, Any] = {TAG: name}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name), depth + 1)
        return out
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(v, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [encode(v, depth + 1) for v in value]}
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v, depth + 1) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise ProtocolError(f"cannot send a value of type {type(value).__name__} across the sandbox")


def decode(value: Any, depth: int = 0) -> Any:
    """The inverse of :func:`encode`; unknown tags or fields raise ``ProtocolError``."""
    if depth > 64:
        raise ProtocolError("value nested more than 64 levels deep")
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {k: decode(v, depth + 1) for k, v in value.items()}
    try:
        if tag == "bytes":
            return base64.b64decode(value["b64"], validate=True)
        if tag == "tuple":
            return tuple(decode(v, depth + 1) for v in value["v"])
        if tag == "set":
            return {decode(v, depth + 1) for v in value["v"]}
        if tag == "datetime":
            return datetime.fromisoformat(value["v"])
        if tag == "date":
            return date.fromisoformat(value["v"])
        if tag == "dict":
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in value["items"]}
        cls = TYPES.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise ProtocolError(f"unknown type tag {tag!r}")
        fields = {k: decode(v, depth + 1) for k, v in value.items() if k != TAG}
        return cls(**fields)
    except ProtocolError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed {tag!r} value: {type(exc).__name__}: {exc}") from None


# ---- framing ---------------------------------------------------------------------
def dumps(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return HEADER.pack(len(body)) + body


def send(sock: socket.socket, message: dict[str, Any], *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
    """Send one frame; refuses (before sending) a message over ``max_frame`` bytes."""
    data = dumps(message)
    if len(data) - HEADER.size > max_frame:
        raise ProtocolError(f"message of {len(data) - HEADER.size} bytes exceeds the {max_frame}-byte limit")
    sock.sendall(data)


def parse(body: bytes) -> dict[str, Any]:
    """One frame body → message; anything but a JSON object with a ``t`` string is refused."""
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {str(exc)[:200]}") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise ProtocolError("message is not an object with a 't' field")
    return message


class FrameReader:
    """Buffered frame reader: usually one ``recv`` per message, and the size limit is
    checked on the header, before the body is read. With a ``deadline`` (monotonic),
    the whole frame must arrive by then, however slowly the peer drips it."""

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self.max_frame = max_frame
        self.buf = bytearray()

    def read(self, deadline: float | None = None) -> dict[str, Any]:
        while True:
            if len(self.buf) >= HEADER.size:
                (size,) = HEADER.unpack_from(self.buf)
                if size > self.max_frame:
                    raise ProtocolError(f"peer announced a {size}-byte message; the limit is {self.max_frame}")
                end = HEADER.size + size
                if len(self.buf) >= end:
                    body = bytes(self.buf[HEADER.size:end])
                    del self.buf[:end]
                    return parse(body)
                want = end - len(self.buf)
            else:
                want = HEADER.size - len(self.buf)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("no complete message before the deadline")
                self.sock.settimeout(remaining)
            chunk = self.sock.recv(max(want, 65536) if want < (1 << 20) else (1 << 20))
            if not chunk:
                raise PeerClosed("the peer closed the connection (it crashed, or was killed)")
            self.buf += chunk


def recv(sock: socket.socket, *, max_frame: int = DEFAULT_MAX_FRAME) -> dict[str, Any]:
    """Read one frame without buffering past it (used for the first, ``init``, frame)."""
    header = _recv_exact(sock, HEADER.size)
    (size,) = HEADER.unpack(header)
    if size > max_frame:
        raise ProtocolError(f"peer announced a {size}-byte message; the limit is {max_frame}")
    return parse(_recv_exact(sock, size))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise PeerClosed("the peer closed the connection (it crashed, or was killed)")
        buf += chunk
    return bytes(buf)
