"""A local AT Protocol PDS for tests: createSession, uploadBlob, createRecord,
listNotifications (cursor paging), with the XRPC error shape and token expiry."""
from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from comptoir.sdk.testing import ProtocolServer

HANDLE = "atelier.bsky.social"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64 + b"\xff\xd9"


class FakeBluesky(ProtocolServer):
    def __init__(self) -> None:
        self.jwts: set[str] = set()
        self.blobs: dict[str, bytes] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # newest first
        self.profiles: dict[str, dict[str, Any]] = {}  # by DID: what getProfiles answers
        self.profiles_down = False  # getProfiles answers 502 (an AppView outage)
        self.requests: list[dict[str, Any]] = []
        self._rkeys = itertools.count(1)

    def notify(self, handle: str, reason: str, text: str, at: datetime, *, display_name: str = "",
               followers: int = 0) -> str:
        did = f"did:plc:{hashlib.sha1(handle.encode()).hexdigest()[:24]}"
        uri = f"at://{did}/app.bsky.feed.post/3k{next(self._rkeys)}"
        author = {"did": did, "handle": handle, **({"displayName": display_name} if display_name else {})}
        self.profiles[did] = {**author, "followersCount": followers, "followsCount": 10, "postsCount": 40}
        self.notifications.insert(0, {"uri": uri, "cid": "bafyrei" + secrets.token_hex(8), "reason": reason,
                                      "author": author,
                                      "record": {"$type": "app.bsky.feed.post", "text": text},
                                      "indexedAt": at.isoformat().replace("+00:00", "Z"), "isRead": False})
        return uri

    @staticmethod
    def _json(status: int, obj: Any) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(obj).encode()

    def handle(self, method: str, target: str, h: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        split = urlsplit(target)
        path = split.path
        self.requests.append({"method": method, "path": path, "query": split.query, "headers": h, "body": raw})
        if path.startswith("/images/"):
            return 200, "image/jpeg", JPEG
        if path == "/xrpc/com.atproto.server.createSession":
            body = json.loads(raw)
            if body.get("identifier") != HANDLE or body.get("password") != APP_PASSWORD:
                return self._json(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            jwt = "eyJ" + secrets.token_urlsafe(24)
            self.jwts.add(jwt)
            return self._json(200, {"did": DID, "handle": HANDLE, "accessJwt": jwt, "refreshJwt": "eyJr" + jwt[3:]})
        if h.get("authorization", "").removeprefix("Bearer ") not in self.jwts:
            return self._json(400, {"error": "ExpiredToken", "message": "Token has expired"})
        if path == "/xrpc/com.atproto.repo.uploadBlob" and method == "POST":
            if not h.get("content-type", "").startswith("image/"):
                return self._json(400, {"error": "InvalidRequest", "message": "Unsupported blob type"})
            link = "bafkrei" + hashlib.sha256(raw).hexdigest()[:40]
            self.blobs[link] = raw
            return self._json(200, {"blob": {"$type": "blob", "ref": {"$link": link}, "mimeType": h["content-type"],
                                             "size": len(raw)}})
        if path == "/xrpc/com.atproto.repo.createRecord" and method == "POST":
            body = json.loads(raw)
            record = body.get("record") or {}
            if body.get("repo") != DID or body.get("collection") != "app.bsky.feed.post":
                return self._json(400, {"error": "InvalidRequest", "message": "Invalid repo or collection"})
            if len(record.get("text", "")) > 300:
                return self._json(400, {"error": "InvalidRequest",
                                        "message": "Invalid app.bsky.feed.post record: Record/text must not be longer "
                                                   "than 300 graphemes"})
            for image in (record.get("embed") or {}).get("images", []):
                if image["image"]["ref"]["$link"] not in self.blobs:
                    return self._json(400, {"error": "InvalidRequest", "message": "Could not find blob"})
            uri = f"at://{DID}/app.bsky.feed.post/3kx{next(self._rkeys)}"
            self.records[uri] = record
            return self._json(200, {"uri": uri, "cid": "bafyrei" + secrets.token_hex(8)})
        if path == "/xrpc/app.bsky.actor.getProfiles":
            if self.profiles_down:
                return self._json(502, {"error": "UpstreamFailure", "message": "Upstream Failure"})
            actors = parse_qs(split.query).get("actors", [])
            if not actors or len(actors) > 25:
                return self._json(400, {"error": "InvalidRequest", "message": "actors must have 1-25 items"})
            return self._json(200, {"profiles": [self.profiles[a] for a in actors if a in self.profiles]})
        if path == "/xrpc/app.bsky.notification.listNotifications":
            q = parse_qs(split.query)
            start = int(q.get("cursor", ["0"])[0])
            limit = int(q.get("limit", ["50"])[0])
            page = self.notifications[start:start + limit]
            nxt = start + limit
            return self._json(200, {"notifications": page,
                                    **({"cursor": str(nxt)} if nxt < len(self.notifications) else {})})
        return self._json(404, {"error": "MethodNotImplemented", "message": f"Method Not Implemented: {path}"})
