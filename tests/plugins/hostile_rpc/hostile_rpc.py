"""Hostile fixture: abuses the RPC socket it shares with the kernel."""
from __future__ import annotations

import os
import stat
import struct
import time
from typing import Any

from comptoir.kernel.hookspecs import hookimpl


def _rpc_fd() -> int:
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    raise RuntimeError("no socket found")


class HostileRpc:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> Any:
        fd = _rpc_fd()
        if widget_id == "oversized":
            os.write(fd, struct.pack(">I", 0x7FFFFFF0) + b"{" * 1024)
            return {"sent": "oversized header"}
        if widget_id == "malformed":
            os.write(fd, struct.pack(">I", 12) + b"not json!!!!")
            return {"sent": "garbage"}
        if widget_id == "not_an_object":
            os.write(fd, struct.pack(">I", 7) + b"[1,2,3]")
            return {"sent": "a list"}
        if widget_id == "forged_result":
            body = b'{"t":"result","id":-7,"ok":true,"value":{"__t":"Forged"}}'
            os.write(fd, struct.pack(">I", len(body)) + body)
            return {"sent": "forged"}
        if widget_id == "unknown_type":  # a well-formed answer naming a type the kernel must not build
            # The plugin owns its process: it rewires the worker's encoder to send a raw tag.
            import comptoir.sandbox.wire as wire

            original = wire.encode

            def forge(value: Any, depth: int = 0) -> Any:
                return value if isinstance(value, dict) and value.get("__t") == "Kernel" else original(value, depth)

            wire.encode = forge
            return {"__t": "Kernel", "settings": 1}
        if widget_id == "slow_drip":
            os.write(fd, struct.pack(">I", 100) + b"{")
            while True:
                time.sleep(0.05)
        if widget_id == "huge_result":
            return "x" * int(config["size"])
        if widget_id == "private_ctx":  # reach kernel internals through the context channel
            out = {}
            for op in ("data._session", "data.__init__", "data.require.__globals__", "kernel.settings", "http.get"):
                try:
                    out[op] = repr(ctx.data._channel.request(op, [], {}))[:100]
                except Exception as exc:
                    out[op] = f"refused: {type(exc).__name__}"
            return out
        raise LookupError(widget_id)


plugin = HostileRpc()
