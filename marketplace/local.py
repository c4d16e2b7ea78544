"""Run the marketplace on a loopback port in a background thread (demo shop, tests, bench)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class LocalServer:
    """``with LocalServer(app) as url:`` serves ``app`` on 127.0.0.1 until the block ends."""

    def __init__(self, app: Any, port: int = 0) -> None:
        if port == 0:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the marketplace did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
