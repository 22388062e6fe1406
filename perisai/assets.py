"""Static files as a phone on a slow line should get them: minified, gzipped once, kept a year.

At start-up every file under `static/` is read once: our own scripts and style sheets are
minified (rjsmin, rcssmin; the comments stay in the sources), files already minified (the
vendored htmx, `*.min.js`) are served byte for byte, and each is gzipped once at the highest
level. Its URL carries a hash of what is served (`?v=`), so a URL with the current version is
kept by the browser for a year without asking again (`immutable`), and a new release changes
the URL. Static answers carry only the headers that mean something for a script or a style
sheet: none of the page headers (Content-Security-Policy, X-Frame-Options, Referrer-Policy
apply to documents), which were about a third of each file's bytes on the wire.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from flask import Flask, Response, abort, request
from werkzeug.utils import get_content_type

YEAR = 365 * 24 * 3600
KEEP_A_YEAR = f"public, max-age={YEAR}, immutable"
# An address without the current version (typed by hand, or an old page after a release):
# the browser asks again each time, so it never keeps the wrong file under that address.
ASK_AGAIN = "no-cache"
TEXT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None  # None where gzip would not make it smaller
    content_type: str
    version: str


def minified(name: str, data: bytes) -> bytes:
    """What is served for a file of the static folder: our scripts and styles minified."""
    if name.endswith(".min.js") or name.endswith(".min.css"):
        return data
    if name.endswith(".js"):
        return rjsmin.jsmin(data.decode("utf-8")).encode("utf-8")
    if name.endswith(".css"):
        return rcssmin.cssmin(data.decode("utf-8")).encode("utf-8")
    return data


def load(folder: Path) -> dict[str, Asset]:
    assets = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        body = minified(name, path.read_bytes())
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        content_type = TEXT_TYPES.get(path.suffix) or get_content_type(
            mimetypes.guess_type(name)[0] or "application/octet-stream", "utf-8")
        assets[name] = Asset(body=body, gzipped=packed if len(packed) < len(body) else None,
                             content_type=content_type,
                             version=hashlib.sha256(body).hexdigest()[:10])
    return assets


def init_app(app: Flask) -> dict[str, Asset]:
    """Serve `/static/…` from memory; returns the assets (their versions make the URLs)."""
    assets = load(Path(app.static_folder))

    def serve(filename: str) -> Response:
        asset = assets.get(filename)
        if asset is None:
            abort(404)
        etag = f'"{asset.version}"'
        current = request.args.get("v") == asset.version
        headers = {"Cache-Control": KEEP_A_YEAR if current else ASK_AGAIN, "ETag": etag,
                   "Vary": "Accept-Encoding"}
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        return Response(body, content_type=asset.content_type, headers=headers)

    app.view_functions["static"] = serve
    return assets
