"""HTTP security baseline shared by both apps: headers, safe redirects, client address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline scripts or styles anywhere; nothing is loaded from other origins.
# form-action is deliberately absent: after a consent form the OpenID Provider redirects
# to the client's registered redirect URI, which browsers check against form-action.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` only when it is a path on this site; otherwise ``default``.

    Refuses absolute URLs, scheme-relative ``//host`` and the backslash variants browsers
    normalise to them (``/\\host``), and anything carrying control characters.
    """
    if not target or any(ord(ch) < 32 for ch in target):
        return default
    normalised = target.replace("\\", "/")
    parts = urlsplit(normalised)
    if (
        parts.scheme
        or parts.netloc
        or not normalised.startswith("/")
        or normalised.startswith("//")
    ):
        return default
    return target


def client_address() -> str:
    """The peer address. Behind a proxy, ProxyFix (configured by TRUSTED_PROXIES) sets it."""
    return request.remote_addr or "unknown"


def user_agent() -> str:
    return (request.headers.get("User-Agent") or "")[:300]


def init_security(app: Flask) -> None:
    defaults = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if app.config.get("ENV") == "production":
        defaults.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the response's headers, not one lookup per default (each scans).
        present = {key.lower() for key, _ in headers.items()}
        headers.extend([(key, value) for key, value in defaults if key.lower() not in present])
        # Pages that belong to a signed-in person must not be kept by shared caches.
        if (
            request.cookies.get(app.config["SESSION_COOKIE_NAME"])
            and "cache-control" not in present
        ):
            headers["Cache-Control"] = "no-store"
        return response

    if app.config.get("TRUSTED_PROXIES"):
        count = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
