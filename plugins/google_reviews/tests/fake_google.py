"""A local stand-in for the Business Profile v4 reviews list: bearer check, pageSize and
pageToken paging, ``orderBy=updateTime desc``, Google's error shape."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from comptoir.sdk.testing import ProtocolServer

TOKEN = "ya29.a0AfH6SMBx-test-token"
LOCATION = "accounts/1234567890/locations/9876543210"


class FakeGoogle(ProtocolServer):
    def __init__(self) -> None:
        self.reviews: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, str, bytes]:
        status, answer = self.answer(target, headers) if method == "GET" else (
            405, {"error": {"code": 405, "status": "METHOD_NOT_ALLOWED", "message": "only GET lists reviews"}})
        return status, "application/json; charset=UTF-8", json.dumps(answer).encode()

    def answer(self, target: str, h: dict[str, str]) -> tuple[int, dict[str, Any]]:
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
