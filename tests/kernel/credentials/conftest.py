"""Fixtures for the credential store: kernels on both databases, fixture plugins, a
local HTTP server that echoes what it received, and a real OpenID provider."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from comptoir.kernel.manifest import Manifest, parse_manifest
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.settings import Settings

KNOWN_SECRETS: list[str] = []  # every secret a test feeds in; leak tests search outputs for them


def make_kernel(tmp_path: Path, url: str, *, boot: bool = True) -> Kernel:
    settings = Settings(home=tmp_path / "home", database_url=url, hook_timeout_ms=5000)
    k = Kernel(settings, discover=False, default_enabled=())
    return k.boot() if boot else k


@pytest.fixture
def ck(tmp_path: Path, db_url: str) -> Iterator[Kernel]:
    """A booted kernel with no installed plugins, once on SQLite and once on PostgreSQL."""
    k = make_kernel(tmp_path, db_url)
    yield k
    k.close()


@pytest.fixture
def ck_sqlite(tmp_path: Path, sqlite_url: str) -> Iterator[Kernel]:
    k = make_kernel(tmp_path, sqlite_url)
    yield k
    k.close()


class Dummy:
    """A plugin object with no hooks: tests use its context directly."""


def manifest(plugin_id: str, *, hosts: tuple[str, ...] = (), data: tuple[str, ...] = (),
             accounts: dict[str, Any] | None = None, trusted: bool = False, version: str = "1.0.0") -> Manifest:
    return parse_manifest({"id": plugin_id, "name": plugin_id, "version": version, "vendor": "tests",
                           "trusted": trusted,
                           "scopes": {"data": list(data), "hosts": list(hosts), "accounts": accounts or {}}})


def add_plugin(kernel: Kernel, m: Manifest, *, grant: bool = True) -> Any:
    """Install and enable a fixture plugin; grant what it requests unless told not to."""
    kernel.host.add(Dummy(), m)
    kernel.host.enable(m.id, persist=False)
    if grant:
        kernel.services["credentials"].grant(m.id, m.requested_rights(), "test-admin", version=m.version)
    return kernel.host.context(m.id)


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/stolen")
            self.end_headers()
            return
        payload = json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                              "body": body}).encode()
        status = 500 if self.path.startswith("/fail") else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="session")
def echo_server() -> Iterator[str]:
    """``127.0.0.1:<port>`` of a local server that answers with what it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
