"""Static files carry a fingerprint and are cached for a year; pages and stylesheets
are compressed for browsers that ask (issue 12, "Serving")."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parents[2]
SHARED_CSS = ROOT / "shared" / "static" / "style.css"
DIARY_CSS = ROOT / "diary_service" / "static" / "diary.css"


def stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def fingerprint_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_pages_link_fingerprinted_stylesheets(app, diary_app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert f"/shared-static/style.css?v={fingerprint_of(SHARED_CSS)}" in stylesheets(page)
    diary_page = diary_app.test_client().get("/").get_data(as_text=True)
    assert f"/static/diary.css?v={fingerprint_of(DIARY_CSS)}" in stylesheets(diary_page)


def test_a_fingerprinted_file_is_kept_a_year_and_others_are_revalidated(app):
    client = app.test_client()
    current = client.get(f"/shared-static/style.css?v={fingerprint_of(SHARED_CSS)}")
    assert current.status_code == 200
    assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert current.get_data() == SHARED_CSS.read_bytes()
    # An old or missing fingerprint: the browser asks again, and a 304 costs nothing.
    for url in ("/shared-static/style.css", "/shared-static/style.css?v=000000000000"):
        plain = client.get(url)
        assert plain.headers["Cache-Control"] == "no-cache"
        with client.get(url, headers={"If-None-Match": plain.headers["ETag"]}) as again:
            assert again.status_code == 304


def test_pages_and_stylesheets_are_compressed_for_browsers_that_ask(app):
    client = app.test_client()
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    page = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert page.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert brotli.decompress(page.get_data()).decode() == plain.get_data(as_text=True)
    css = client.get("/shared-static/style.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(css.get_data()) == SHARED_CSS.read_bytes()
    assert len(css.get_data()) < SHARED_CSS.stat().st_size / 2
