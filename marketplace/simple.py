"""The pip-compatible index: PEP 503 HTML and PEP 691 JSON, PEP 658 metadata files.

Links carry ``#sha256=…``, ``data-requires-python`` and ``data-core-metadata``; yanked
releases are marked (PEP 592); blocked releases are not listed at all.
"""
from __future__ import annotations

from html import escape
from typing import Any

from packaging.utils import canonicalize_name
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from comptoir.marketplace.errors import NotFound
from comptoir.marketplace.models import Plugin, Release

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    if request.query_params.get("format") == JSON_TYPE:
        return True
    # PEP 691: pick JSON only when the client asks for it (pip asks for both, JSON first)
    best = None
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if media in (JSON_TYPE, HTML_TYPE, "text/html") and (best is None or q > best[1]):
            best = (media, q)
    return best is not None and best[0] == JSON_TYPE


def index(request: Request) -> Response:
    mp = request.app.state.market
    with mp.factory() as s:
        names = sorted(s.scalars(select(Plugin.dist_name).where(Plugin.latest_version != "")))
    if _wants_json(request):
        return JSONResponse({"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]},
                            media_type=JSON_TYPE)
    links = "\n".join(f'<a href="{escape(n)}/">{escape(n)}</a><br/>' for n in names)
    return HTMLResponse(f"<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
                        f"<title>Simple index</title></head><body>\n{links}\n</body></html>")


def project(request: Request) -> Response:
    mp = request.app.state.market
    raw = request.path_params["project"]
    name = canonicalize_name(raw)
    if raw != name:
        return RedirectResponse(f"/simple/{name}/", status_code=301)
    with mp.factory() as s:
        plugin = s.scalar(select(Plugin).where(Plugin.dist_name == name))
        if plugin is None:
            raise NotFound(f"no project {name!r}")
        releases = [r for r in s.scalars(select(Release).where(Release.plugin_id == plugin.id).order_by(Release.id))
                    if not r.blocked]
    if _wants_json(request):
        files: list[dict[str, Any]] = [{
            "filename": r.filename, "url": f"/files/{r.filename}", "hashes": {"sha256": r.sha256},
            "requires-python": r.requires_python or None, "core-metadata": {"sha256": r.metadata_sha256},
            "dist-info-metadata": {"sha256": r.metadata_sha256}, "yanked": r.yank_reason if r.yanked else False,
            "size": r.size, "upload-time": r.uploaded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        } for r in releases]
        return JSONResponse({"meta": {"api-version": "1.1"}, "name": name, "files": files,
                             "versions": [r.version for r in releases]}, media_type=JSON_TYPE)
    links = []
    for r in releases:
        attrs = [f'href="/files/{escape(r.filename)}#sha256={r.sha256}"']
        if r.requires_python:
            attrs.append(f'data-requires-python="{escape(r.requires_python)}"')
        attrs.append(f'data-core-metadata="sha256={r.metadata_sha256}"')
        attrs.append(f'data-dist-info-metadata="sha256={r.metadata_sha256}"')
        if r.yanked:
            attrs.append(f'data-yanked="{escape(r.yank_reason)}"')
        links.append(f"<a {' '.join(attrs)}>{escape(r.filename)}</a><br/>")
    body = "\n".join(links)
    return HTMLResponse(f"<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
                        f"<title>Links for {escape(name)}</title></head><body>\n<h1>Links for {escape(name)}</h1>\n"
                        f"{body}\n</body></html>")


def file(request: Request) -> Response:
    """A wheel, its ``.metadata`` (PEP 658) or its vendor ``.sig``, if its release is not blocked."""
    mp = request.app.state.market
    name = request.path_params["filename"]
    base = name
    for suffix in (".metadata", ".sig"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
    with mp.factory() as s:
        rel = s.scalar(select(Release).where(Release.filename == base))
    if rel is None or rel.blocked or "/" in name:
        raise NotFound(f"no file {name!r}")
    path = mp.settings.files_dir / name
    media = "application/octet-stream" if name == base else "text/plain"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=31536000, immutable"})


routes = [
    Route("/simple/", index),
    Route("/simple/{project}/", project),
    Route("/simple/{project}", lambda r: RedirectResponse(f"/simple/{r.path_params['project']}/", 301)),
    Route("/files/{filename}", file),
]
