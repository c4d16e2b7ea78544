"""A local stand-in for the Business Profile v4 reviews list: bearer check, pageSize and
pageToken paging, ``orderBy=updateTime desc``, Google's error shape."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "ya29.a0AfH6SMBx-test-token"
LOCATION = "accounts/1234567890/locations/9876543210"


class FakeGoogle:
    def __init__(self) -> None:
        self.reviews: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeGoogle":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = fake.handle(self.path, {k.lower(): v for k, v in self.headers.items()})
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def handle(self, target: str, h: dict[str, str]) -> tuple[int, dict[str, Any]]:
        split = urlsplit(target)
        self.requests.append({"path": split.path, "query": split.query, "headers": h})
        if h.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid "
                                   "authentication credentials. Expected OAuth 2 access token."}}
        path = unquote(split.path)
        if path != f"/v4/{LOCATION}/reviews":
            return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found."}}
        q = parse_qs(split.query)
        size = min(50, int(q.get("pageSize", ["50"])[0]))
        start = int(q.get("pageToken", ["0"])[0])
        ordered = sorted(self.reviews, key=lambda r: r["updateTime"], reverse=True)
        page = ordered[start:start + size]
        body: dict[str, Any] = {"reviews": page, "averageRating": 4.2, "totalReviewCount": len(self.reviews)}
        if start + size < len(ordered):
            body["nextPageToken"] = str(start + size)
        return 200, body
