"""Static files and compression, the same for every app.

- **Fingerprints.** ``url_for`` of a static file (the app's or ``shared.static``) adds
  ``?v=`` and the first 12 hex digits of the file's SHA-256. A request carrying the
  current fingerprint is answered ``Cache-Control: public, max-age=31536000, immutable``:
  a browser keeps the file a year and never asks again, and a changed file has another
  address. Without it (an old page, a hand-typed address) the file is revalidated
  (``no-cache`` with an ETag: a 304 costs nothing).
- **Compression.** HTML, CSS, JSON, CSV and SVG of 500 bytes and more go out with
  brotli or gzip, whichever the browser takes (Flask-Compress). Static files are read
  whole for that (they are small; a fingerprinted one is fetched once per browser).
  Compressed pages that carry a CSRF token are not a BREACH oracle here: session cookies
  are SameSite=Lax, so another site cannot make a signed-in browser fetch them
  repeatedly with its own guesses.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_compress import Compress

IMMUTABLE = "public, max-age=31536000, immutable"
FINGERPRINT_LENGTH = 12
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "application/json",
    "image/svg+xml",
]


def _static_folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
    return blueprint.static_folder if blueprint is not None else None


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def fingerprint(app: Flask, endpoint: str, filename: str) -> str | None:
    """The file's fingerprint (cached per process; recomputed when the file changes,
    which only a developer's edit does)."""
    folder = _static_folder(app, endpoint)
    if folder is None:
        return None
    path = Path(folder) / filename
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cache: dict = app.extensions.setdefault("static_fingerprints", {})
    known = cache.get(path)
    if known is None or known[0] != stamp:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:FINGERPRINT_LENGTH]
        known = cache[path] = (stamp, digest)
    return known[1]


def _add_fingerprint(endpoint: str, values: dict) -> None:
    if _is_static(endpoint) and "filename" in values and "v" not in values:
        found = fingerprint(current_app, endpoint, values["filename"])
        if found is not None:
            values["v"] = found


def _cache_static(response: Response) -> Response:
    """Fingerprinted static files are immutable; and static files are read whole so the
    compressor (which runs next) can compress them."""
    if not _is_static(request.endpoint) or response.status_code != 200:
        return response
    filename = (request.view_args or {}).get("filename", "")
    wanted = request.args.get("v")
    if wanted and wanted == fingerprint(current_app, request.endpoint, filename):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"
    stream = response.response
    response.direct_passthrough = False
    response.get_data()  # from the file stream to bytes (small files)...
    if hasattr(stream, "close"):
        stream.close()  # ...and the file closed
    return response


def init_assets(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_STREAMS", False)  # exports stream; they stay as they are
    Compress(app)
    app.url_defaults(_add_fingerprint)
    # Registered after the compressor's hook, so it runs before it (Flask runs
    # after_request functions in reverse order of registration).
    app.after_request(_cache_static)
