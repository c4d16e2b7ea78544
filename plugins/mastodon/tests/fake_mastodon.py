"""A local Mastodon instance for tests: app registration, OAuth token endpoint,
media (async processing), statuses (with scheduling and Idempotency-Key),
notifications with ``types[]`` filtering and ``max_id`` paging, and an image host."""
from __future__ import annotations

import email
import email.policy
import itertools
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from comptoir.sdk.testing import ProtocolServer

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


class FakeMastodon(ProtocolServer):
    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.codes: dict[str, str] = {}
        self.apps: dict[str, str] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # newest first, like the API
        self.idem: dict[str, bytes] = {}
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(109000000000000001)

    def _id(self) -> str:
        return str(next(self._ids))

    def mention(self, acct: str, html: str, at: datetime, *, reply_to: str | None = None, kind: str = "mention",
                display_name: str = "", followers: int = 0) -> str:
        """Someone mentions the shop (test helper); returns the status id."""
        sid = self._id()
        status = {"id": sid, "created_at": at.isoformat().replace("+00:00", "Z"), "content": html,
                  "in_reply_to_id": reply_to, "url": f"{self.url}/@{acct.split('@')[0]}/{sid}"}
        account = {"id": "1", "acct": acct, "username": acct.split("@")[0], "display_name": display_name,
                   "followers_count": followers, "following_count": 3, "statuses_count": 12}
        self.notifications.insert(0, {"id": self._id(), "type": kind, "created_at": status["created_at"],
                                      "account": account, "status": status})
        return sid

    @staticmethod
    def _json(status: int, obj: Any) -> tuple[int, str, bytes]:
        return status, "application/json; charset=utf-8", json.dumps(obj).encode()

    def handle(self, method: str, target: str, h: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        split = urlsplit(target)
        path = split.path
        self.requests.append({"method": method, "path": path, "query": split.query, "headers": h, "body": raw})
        if path.startswith("/images/"):
            return 200, "image/jpeg", JPEG
        if path == "/api/v1/apps" and method == "POST":
            app = json.loads(raw)
            client_id = secrets.token_urlsafe(16)
            self.apps[client_id] = secrets.token_urlsafe(24)
            return self._json(200, {"id": "1", "name": app["client_name"], "client_id": client_id,
                                    "client_secret": self.apps[client_id], "redirect_uri": app["redirect_uris"]})
        if path == "/oauth/token" and method == "POST":
            form = dict(parse_qsl(raw.decode()))
            if form.get("grant_type") != "authorization_code" or form.get("code") not in self.codes:
                return self._json(400, {"error": "invalid_grant", "error_description": "The provided authorization "
                                        "grant is invalid, expired, revoked, does not match the redirection URI"})
            token = secrets.token_urlsafe(32)
            self.tokens.add(token)
            return self._json(200, {"access_token": token, "token_type": "Bearer",
                                    "scope": "read:notifications write:media write:statuses",
                                    "created_at": 1700000000})
        if h.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return self._json(401, {"error": "The access token is invalid"})
        if path == "/api/v2/media" and method == "POST":
            msg = email.message_from_bytes(b"Content-Type: " + h["content-type"].encode() + b"\r\n\r\n" + raw,
                                           policy=email.policy.HTTP)
            parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}  # type: ignore[attr-defined]
            if "file" not in parts:
                return self._json(422, {"error": "Validation failed: File can't be blank"})
            data = parts["file"].get_payload(decode=True)
            if not data.startswith(b"\xff\xd8"):
                return self._json(422, {"error": "Validation failed: File content type is invalid"})
            mid = self._id()
            self.media[mid] = {"id": mid, "type": "image", "url": None, "preview_url": None,
                               "description": parts["description"].get_payload(decode=True).decode() if "description" in parts else None}
            return self._json(202, self.media[mid])  # processed asynchronously
        if path.startswith("/api/v1/media/") and method == "GET":
            m = self.media.get(path.rsplit("/", 1)[1])
            if m is None:
                return self._json(404, {"error": "Record not found"})
            m["url"] = f"{self.url}/system/media/{m['id']}.jpg"
            return self._json(200, m)
        if path == "/api/v1/statuses" and method == "POST":
            key = h.get("idempotency-key", "")
            if key and key in self.idem:
                return 200, "application/json", self.idem[key]
            status, ctype, body = self.post_status(json.loads(raw))
            if key and status == 200:
                self.idem[key] = body
            return status, ctype, body
        if path == "/api/v1/notifications" and method == "GET":
            q = parse_qs(split.query)
            types = set(q.get("types[]", []))
            found = [n for n in self.notifications if not types or n["type"] in types]
            if q.get("max_id"):
                found = [n for n in found if int(n["id"]) < int(q["max_id"][0])]
            return self._json(200, found[:int(q.get("limit", ["40"])[0])])
        return self._json(404, {"error": "Record not found"})

    def post_status(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        text = str(body.get("status") or "")
        if not text and not body.get("media_ids"):
            return self._json(422, {"error": "Validation failed: Text can't be blank"})
        if len(text) > 500:
            return self._json(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        for mid in body.get("media_ids") or []:
            if mid not in self.media or self.media[mid]["url"] is None:
                return self._json(422, {"error": "Cannot attach files that have not finished processing. "
                                        "Try again in a moment!"})
        if body.get("scheduled_at"):
            when = datetime.fromisoformat(str(body["scheduled_at"]).replace("Z", "+00:00"))
            if when < datetime.now(timezone.utc) + timedelta(minutes=5):
                return self._json(422, {"error": "Validation failed: Scheduled at The scheduled date must be at "
                                        "least 5 minutes into the future."})
            sid = self._id()
            self.scheduled[sid] = {"id": sid, "scheduled_at": body["scheduled_at"], "params": body,
                                   "media_attachments": [self.media[m] for m in body.get("media_ids") or []]}
            return self._json(200, self.scheduled[sid])
        sid = self._id()
        self.statuses[sid] = {"id": sid, "content": f"<p>{text}</p>", "visibility": body.get("visibility"),
                              "language": body.get("language"), "url": f"{self.url}/@shop/{sid}",
                              "media_attachments": [self.media[m] for m in body.get("media_ids") or []]}
        return self._json(200, self.statuses[sid])
